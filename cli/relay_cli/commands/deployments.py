"""`relay deploy` and `relay deployments list|show|delete|reactivate` (the spec's deployment routes)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from relay_cli.api import Api
from relay_cli.output import CliError, JsonOption, console, err_console, fields, show, table, when
from relay_cli.session import session_of

app = typer.Typer(help="Deployments: a training checkpoint served as a model id.", no_args_is_help=True)

SETTLED = {"Deployed", "Failed", "Cancelled", "Terminated", "Deactivated", "TimedOut"}
POLL_SECONDS = 5.0
WAIT_TIMEOUT_SECONDS = 3600.0


def _latest_checkpoint(api: Api, project: str, job_id: str) -> int:
    checkpoints = api.get(f"/projects/{project}/training-jobs/{job_id}/checkpoints")
    if not checkpoints:
        raise CliError(f"Training job {job_id} has no checkpoints to deploy yet")
    return max(int(c["checkpoint"]) for c in checkpoints)


def wait_settled(api: Api, path: str, deployment: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_TIMEOUT_SECONDS
    with err_console.status(f"Deploying {deployment.get('name')}…") as spinner:
        while deployment.get("status") not in SETTLED:
            if time.monotonic() > deadline:
                raise CliError(
                    f"Deployment {deployment['id']} still {deployment.get('status')} after an hour"
                )
            time.sleep(POLL_SECONDS)
            deployment = api.get(path)
            spinner.update(f"Deployment {deployment.get('name')}: {deployment.get('status')}…")
    return deployment


def deploy(
    ctx: typer.Context,
    project_id: str,
    job_id: str,
    checkpoint: Annotated[
        int | None, typer.Option(help="Checkpoint number (default: the job's last).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The deployment's name, which is its model id.")] = None,
    inactive_timeout: Annotated[int | None, typer.Option(help="Seconds idle before scaling to zero.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it is Deployed (or fails).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Deploy a checkpoint of a training job."""
    api = session_of(ctx).api
    body: dict[str, Any] = {
        "training_job_id": job_id,
        "checkpoint": checkpoint if checkpoint is not None else _latest_checkpoint(api, project_id, job_id),
    }
    if name:
        body["name"] = name
    if inactive_timeout is not None:
        body["inactive_timeout"] = inactive_timeout
    deployment = api.post(f"/projects/{project_id}/deployments", json=body)
    if wait:
        deployment = wait_settled(api, f"/projects/{project_id}/deployments/{deployment['id']}", deployment)
    show(deployment, as_json, lambda d: console.print(fields(f"Deployment {d['id']}", d)))
    if wait and deployment.get("status") != "Deployed":
        raise typer.Exit(1)


def deployment_table(deployments: list[dict[str, Any]]) -> Table:
    """Deployments one a row, as `deployments list` and `projects show` print them."""
    rows = [(d["id"], d.get("name"), d.get("status"), when(d.get("created_at"))) for d in deployments]
    return table("Deployments", ("id", "name", "status", "created"), rows)


@app.command("list")
def list_(ctx: typer.Context, project_id: str, as_json: JsonOption = False) -> None:
    """The project's deployments."""
    items = session_of(ctx).api.get(f"/projects/{project_id}/deployments")
    show(items, as_json, lambda ds: console.print(deployment_table(ds)))


@app.command("show")
def show_(ctx: typer.Context, project_id: str, deployment_id: str, as_json: JsonOption = False) -> None:
    """One deployment."""
    item = session_of(ctx).api.get(f"/projects/{project_id}/deployments/{deployment_id}")
    show(item, as_json, lambda d: console.print(fields(f"Deployment {d['id']}", d)))


@app.command("delete")
def delete(ctx: typer.Context, project_id: str, deployment_id: str, as_json: JsonOption = False) -> None:
    """Delete a deployment (its inference component goes too)."""
    session_of(ctx).api.delete(f"/projects/{project_id}/deployments/{deployment_id}")
    show(
        {"id": deployment_id, "deleted": True},
        as_json,
        lambda _: console.print(f"Deleting deployment {deployment_id}."),
    )


@app.command("reactivate")
def reactivate(
    ctx: typer.Context,
    project_id: str,
    deployment_id: str,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it is Deployed again.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Bring a deactivated deployment back."""
    api = session_of(ctx).api
    path = f"/projects/{project_id}/deployments/{deployment_id}"
    api.post(f"{path}/reactivate")
    deployment = api.get(path)
    if wait:
        deployment = wait_settled(api, path, deployment)
    show(deployment, as_json, lambda d: console.print(f"Deployment {deployment_id} is {d.get('status')}."))
