"""Follow a batch until it ends: a bar over its request counts on a terminal, a line per change elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from relay_cli.output import err_console

# OpenAI's terminal batch statuses; `cancelling` and `finalizing` still change.
TERMINAL = {"completed", "failed", "expired", "cancelled"}
POLL_SECONDS = 1.0


def progress_of(batch: dict[str, Any]) -> tuple[str, int, int, int]:
    """Status, requests done (completed + failed), failed, and total (0 while validating)."""
    counts = batch.get("request_counts") or {}
    failed = int(counts.get("failed") or 0)
    return (
        str(batch.get("status")),
        int(counts.get("completed") or 0) + failed,
        failed,
        int(counts.get("total") or 0),
    )


def follow(
    fetch: Callable[[], dict[str, Any]], batch: dict[str, Any], *, interval: float | None = None
) -> dict[str, Any]:
    """Poll `fetch` from `batch` (as created) until a terminal status; returns the last state.

    A batch may run for hours, so there is no timeout of our own: Ctrl-C stops watching,
    the batch runs on.
    """
    pause = POLL_SECONDS if interval is None else interval
    if err_console.is_terminal:
        return _follow_live(fetch, batch, pause)
    last: tuple[str, int, int, int] | None = None
    while True:
        shown = progress_of(batch)
        if shown != last:
            status, done, failed, total = shown
            err_console.print(f"{batch['id']}: {status} {done}/{total} requests ({failed} failed)")
            last = shown
        if batch.get("status") in TERMINAL:
            return batch
        time.sleep(pause)
        batch = fetch()


def _follow_live(fetch: Callable[[], dict[str, Any]], batch: dict[str, Any], pause: float) -> dict[str, Any]:
    columns = (
        TextColumn(f"[bold]{batch['id']}[/] {{task.fields[status]}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console) as progress:
        # No total until the input file is validated: the bar pulses meanwhile.
        task = progress.add_task(batch["id"], total=None, status="…", failed=0)
        while True:
            status, done, failed, total = progress_of(batch)
            progress.update(task, completed=done, total=total or None, status=status, failed=failed)
            if status in TERMINAL:
                return batch
            time.sleep(pause)
            batch = fetch()
