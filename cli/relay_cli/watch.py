"""Follow a training job until it ends: a live bar on a terminal, one line per change elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from relay_cli.output import err_console

TERMINAL = {"Success", "Failed", "TimedOut", "Cancelled"}
POLL_SECONDS = 2.0


def describe(job: dict[str, Any]) -> dict[str, Any]:
    """What the bar shows: status, progress, how many losses were logged and the latest one."""
    losses = job.get("training_loss") or []
    return {
        "status": job.get("status", "?"),
        "progress": int(job.get("progress") or 0),
        "step": len(losses),
        "loss": f"{losses[-1]['loss']:.4f}" if losses else "-",
    }


def follow(
    fetch: Callable[[], dict[str, Any]],
    label: str,
    *,
    interval: float = POLL_SECONDS,
) -> dict[str, Any]:
    """Poll `fetch` until the job is terminal and return its last state. Ctrl-C propagates."""
    if err_console.is_terminal:
        return _follow_live(fetch, label, interval)
    last: dict[str, Any] | None = None
    while True:
        job = fetch()
        shown = describe(job)
        if shown != last:
            err_console.print(
                f"{label}: {shown['status']} {shown['progress']}% step {shown['step']} loss {shown['loss']}"
            )
            last = shown
        if job.get("status") in TERMINAL:
            return job
        time.sleep(interval)


def _follow_live(fetch: Callable[[], dict[str, Any]], label: str, interval: float) -> dict[str, Any]:
    columns = (
        TextColumn(f"[bold]{label}[/] {{task.fields[status]}}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("step {task.fields[step]}  loss {task.fields[loss]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console) as progress:
        task = progress.add_task(label, total=100, status="…", step=0, loss="-")
        while True:
            job = fetch()
            shown = describe(job)
            progress.update(
                task,
                completed=shown["progress"],
                status=shown["status"],
                step=shown["step"],
                loss=shown["loss"],
            )
            if job.get("status") in TERMINAL:
                return job
            time.sleep(interval)
