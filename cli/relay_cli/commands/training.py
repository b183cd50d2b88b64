"""`relay train` and `relay jobs list|show|watch|cancel|plot`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from relay_cli.api import Api, ApiError
from relay_cli.output import CliError, JsonOption, console, emit_json, err_console, fields, show, table, when
from relay_cli.session import session_of
from relay_cli.watch import follow

jobs_app = typer.Typer(help="Training jobs: list, show, watch, cancel, plot the loss.", no_args_is_help=True)

ProjectOption = Annotated[
    str | None, typer.Option("--project", "-p", help="The job's project (default: found by searching).")
]


# Series a job may carry, each a list of {timestamp, loss}; the API has training_loss today.
SERIES = (("training_loss", "training loss"), ("evaluation_loss", "evaluation loss"))


def plot_loss(job: dict[str, Any], output: Path) -> int:
    """Write the PNG; returns how many points were drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise CliError(
            "`relay jobs plot` needs matplotlib: pip install 'relay[plot]' (or pipx inject relay matplotlib)"
        ) from None
    drawn = 0
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        for field, label in SERIES:
            points = sorted(job.get(field) or [], key=lambda p: float(p["timestamp"]))
            if not points:
                continue
            steps = list(range(1, len(points) + 1))
            axes.plot(steps, [float(p["loss"]) for p in points], marker="o", markersize=3, label=label)
            drawn += len(points)
        if not drawn:
            raise CliError(f"Training job {job.get('id')} has logged no loss yet")
        axes.set_title(f"{job.get('name') or job.get('id')} ({job.get('id')}) on {job.get('base_model')}")
        axes.set_xlabel("logged step")
        axes.set_ylabel("loss")
        axes.grid(True, alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(output, format="png")
    finally:
        plt.close(figure)
    return drawn


def _pairs(values: list[str], option: str, number: bool) -> dict[str, Any]:
    """KEY=VALUE options; values parse as JSON when they can (`epochs=2` is the number 2)."""
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        if number and not isinstance(value, int | float):
            raise typer.BadParameter(f"{key}: the weight must be a number, got {raw!r}", param_hint=option)
        out[key] = value
    return out


def find_project(api: Api, job_id: str, project: str | None) -> str:
    if project:
        return project
    for candidate in api.get("/projects"):
        if any(job["id"] == job_id for job in api.get(f"/projects/{candidate['id']}/training-jobs")):
            return str(candidate["id"])
    raise ApiError(404, f"No project has a training job {job_id}", "object_not_found")


def _job_path(project: str, job_id: str) -> str:
    return f"/projects/{project}/training-jobs/{job_id}"


def render_checkpoints(checkpoints: list[dict[str, Any]]) -> None:
    metrics = sorted(
        {m for c in checkpoints for m in ((c.get("test_results") or {}).get("aggregated_test_result") or {})}
    )
    rows = []
    for c in checkpoints:
        results = (c.get("test_results") or {}).get("aggregated_test_result") or {}
        rows.append(
            (
                c.get("checkpoint"),
                *(results.get(m) for m in metrics),
                when(c.get("created_at")),
                c.get("model_download_url"),
            )
        )
    console.print(table("Checkpoints and test results", ("checkpoint", *metrics, "created", "model"), rows))


def render_job(job: dict[str, Any]) -> None:
    console.print(fields(f"Training job {job['id']}", job, skip=("training_loss", "hyper_parameters")))
    if job.get("hyper_parameters"):
        console.print(table("Hyper-parameters", ("name", "value"), sorted(job["hyper_parameters"].items())))
    losses = job.get("training_loss") or []
    if losses:
        console.print(
            f"[bold]Loss[/] {len(losses)} points, last {losses[-1]['loss']:.4f} (relay jobs plot {job['id']})"
        )


def watch_job(api: Api, project: str, job_id: str, as_json: bool) -> None:
    path = _job_path(project, job_id)
    try:
        job = follow(lambda: api.get(path), job_id)
    except KeyboardInterrupt:
        err_console.print(
            f"\nStopped watching; {job_id} keeps running. Resume with: relay jobs watch {job_id}"
        )
        raise typer.Exit(130) from None
    checkpoints = api.get(f"{path}/checkpoints")
    if as_json:
        emit_json({"job": job, "checkpoints": checkpoints})
    else:
        losses = job.get("training_loss") or []
        last = f", last loss {losses[-1]['loss']:.4f}" if losses else ""
        console.print(
            f"[bold]{job_id}[/] ({job.get('name')}, {job.get('training_technique')} on {job.get('base_model')}): "
            f"[bold]{job['status']}[/], {len(losses)} losses logged{last}"
        )
        if checkpoints:
            render_checkpoints(checkpoints)
    if job["status"] != "Success":
        raise CliError(
            f"Training job {job_id} ended {job['status']}: {job.get('failure_reason') or 'no reason given'}"
        )


def train(
    ctx: typer.Context,
    project_id: str,
    base_model: Annotated[str, typer.Option(help="A base model id from `relay models` (catalogue).")],
    dataset: Annotated[str, typer.Option(help="The training dataset id (ds-…).")],
    test_dataset: Annotated[str | None, typer.Option(help="A separate test dataset id.")] = None,
    split: Annotated[float | None, typer.Option(help="Percent of the dataset held out for testing.")] = None,
    test_function: Annotated[list[str] | None, typer.Option(help="A testing function (repeatable).")] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="A training parameter KEY=VALUE (repeatable).")
    ] = None,
    grpo: Annotated[bool, typer.Option(help="GRPO with the test functions as rewards.")] = False,
    reward: Annotated[
        list[str] | None, typer.Option(help="GRPO reward weight FUNCTION=WEIGHT (repeatable).")
    ] = None,
    checkpoint: Annotated[
        int | None, typer.Option(help="Continue from this checkpoint of --base-model's job.")
    ] = None,
    base_model_option: Annotated[str | None, typer.Option(help="pre-trained or fine-tuned.")] = None,
    task_type: Annotated[
        str | None, typer.Option(help="text-generation (default), classification, ...")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name for the job.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Follow the job until it ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Start a training job (SFT, or GRPO with --grpo)."""
    if reward and not grpo:
        raise typer.BadParameter("rewards are GRPO weights: add --grpo", param_hint="--reward")
    body: dict[str, Any] = {"base_model": base_model, "train_dataset_id": dataset}
    optional = {
        "test_dataset_id": test_dataset,
        "train_test_split_ratio": split,
        "test_functions": test_function or None,
        "parameters": _pairs(param or [], "--param", number=False) or None,
        "reward": _pairs(reward or [], "--reward", number=True) or None,
        "checkpoint": checkpoint,
        "base_model_option": base_model_option,
        "task_type": task_type,
        "name": name,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    api = session_of(ctx).api
    path = f"/projects/{project_id}/training-jobs" + ("/grpo" if grpo else "")
    job = api.post(path, json=body)
    if watch:
        err_console.print(f"Started {job['id']} ({job.get('training_technique')}) on {job.get('base_model')}")
        watch_job(api, project_id, job["id"], as_json)
        return
    show(job, as_json, lambda j: console.print(fields(f"Started training job {j['id']}", j)))


@jobs_app.command("list")
def jobs_list(ctx: typer.Context, project_id: str, as_json: JsonOption = False) -> None:
    """The project's training jobs."""
    jobs = session_of(ctx).api.get(f"/projects/{project_id}/training-jobs")
    rows = [
        (
            j["id"],
            j.get("name"),
            j.get("training_technique"),
            j.get("status"),
            j.get("progress"),
            j.get("base_model"),
        )
        for j in jobs
    ]
    show(
        jobs,
        as_json,
        lambda _: console.print(
            table("Training jobs", ("id", "name", "technique", "status", "progress", "base model"), rows)
        ),
    )


@jobs_app.command("show")
def jobs_show(
    ctx: typer.Context, job_id: str, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """One training job."""
    api = session_of(ctx).api
    show(api.get(_job_path(find_project(api, job_id, project), job_id)), as_json, render_job)


@jobs_app.command("watch")
def jobs_watch(
    ctx: typer.Context, job_id: str, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """Follow a job to its end (Ctrl-C stops watching, not the job), then show its checkpoints."""
    api = session_of(ctx).api
    watch_job(api, find_project(api, job_id, project), job_id, as_json)


@jobs_app.command("cancel")
def jobs_cancel(
    ctx: typer.Context, job_id: str, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """Cancel a job: stops its pipeline and its SageMaker training job."""
    api = session_of(ctx).api
    path = _job_path(find_project(api, job_id, project), job_id)
    api.post(f"{path}/cancel")
    show(api.get(path), as_json, lambda j: console.print(f"Training job {job_id} is {j['status']}."))


@jobs_app.command("plot")
def jobs_plot(
    ctx: typer.Context,
    job_id: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the PNG.")] = Path(
        "loss.png"
    ),
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The job's loss over its logged steps, as a PNG."""
    api = session_of(ctx).api
    job = api.get(_job_path(find_project(api, job_id, project), job_id))
    points = plot_loss(job, output)
    result = {"id": job_id, "output": str(output), "points": points}
    show(result, as_json, lambda r: console.print(f"Wrote {r['output']} ({r['points']} points)."))
