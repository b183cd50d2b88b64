"""`relay status`: where Relay is, where its key lives, and what it serves."""

from __future__ import annotations

from typing import Any

import typer
from rich.panel import Panel

from relay_cli.api import Api, ApiError
from relay_cli.output import JsonOption, ago, console, show, table
from relay_cli.session import session_of

# owned_by values that are not Bedrock providers (relay.services.models, relay.catalogue).
SAGEMAKER_OWNER = "sagemaker"
CATALOGUE_OWNER = "relay"
TERMINAL_TRAINING = {"Success", "Failed", "TimedOut", "Cancelled"}
# Local stack outputs worth a line (the rest are in `--json`).
SHOWN_OUTPUTS = ("TableName", "BucketName", "AdminKeySecretArn", "TrainingStateMachineArn")


def _optional(api: Api, path: str) -> Any:
    """A listing the server may not offer (route not there yet, or the key is not admin): None."""
    try:
        return api.get(path)
    except ApiError as exc:
        if exc.status in (403, 404, 405):
            return None
        raise


def _deployment_row(
    api: Api, project: dict[str, Any], summary: dict[str, Any], engines: dict[str, Any]
) -> dict[str, Any]:
    """A deployment with what its engine knows: the instance type and the last invocation."""
    detail = _optional(api, f"/projects/{project['id']}/deployments/{summary['id']}") or summary
    engine_id = detail.get("engine_id")
    if engine_id and engine_id not in engines:
        engines[engine_id] = _optional(api, f"/engines/{engine_id}") or {}
    engine = engines.get(engine_id, {}) if engine_id else {}
    return {
        "project": project["id"],
        "id": summary["id"],
        "name": detail.get("name"),
        "status": detail.get("status"),
        "base_model": detail.get("base_model"),
        "engine_id": engine_id,
        "instance_type": detail.get("instance_type") or engine.get("instance_type"),
        # The deployment detail reports its component's current copies (None while it has none).
        "copies": detail.get("copies", engine.get("copies")),
        # The spec keeps the last invocation on the engine, which serves all its deployments.
        "last_accessed_at": engine.get("last_access_timestamp"),
    }


def collect(api: Api) -> dict[str, Any]:
    models = api.get("/models")["data"]
    registered = _optional(api, "/admin/models")
    deployments: list[dict[str, Any]] | None = []
    engines: dict[str, Any] = {}
    training: list[dict[str, Any]] = []
    for project in api.get("/projects"):
        for job in api.get(f"/projects/{project['id']}/training-jobs"):
            if job.get("status") not in TERMINAL_TRAINING:
                training.append({"project": project["id"], **job})
        if deployments is not None:
            listed = _optional(api, f"/projects/{project['id']}/deployments")
            if listed is None:
                deployments = None  # this server has no deployment routes
            else:
                deployments += [_deployment_row(api, project, d, engines) for d in listed]
    owners = [m.get("owned_by") for m in models]
    return {
        "models": {
            "bedrock": sum(1 for o in owners if o not in (SAGEMAKER_OWNER, CATALOGUE_OWNER)),
            "sagemaker": sum(1 for o in owners if o == SAGEMAKER_OWNER),
            "fine_tuning_base_models": sum(1 for o in owners if o == CATALOGUE_OWNER),
        },
        "registered_models": None if registered is None else registered["data"],
        "deployments": deployments,
        "training_jobs": training,
    }


def _render(report: dict[str, Any]) -> None:
    lines = [f"[bold]Base URL[/]   {report['base_url']}", f"[bold]Target[/]     {report['source']}"]
    lines.append(f"[bold]API key[/]    {report['api_key_location']}")
    if report.get("console_url"):
        lines.append(f"[bold]Console[/]    [link={report['console_url']}]{report['console_url']}[/link]")
    console.print(Panel("\n".join(lines), title="Relay", title_align="left", expand=False))
    if report["parameters"]:
        console.print(table("Stack parameters", ("parameter", "value"), sorted(report["parameters"].items())))
    shown = [(k, report["outputs"][k]) for k in SHOWN_OUTPUTS if k in report["outputs"]]
    if shown:
        console.print(table("Stack outputs", ("output", "value"), shown))
    counts = report["models"]
    rows: list[tuple[Any, ...]] = [
        ("Bedrock", counts["bedrock"], "foundation models and inference profiles"),
        ("SageMaker", counts["sagemaker"], "registered endpoints, callable by id"),
        ("Catalogue", counts["fine_tuning_base_models"], "base models to fine-tune"),
    ]
    console.print(table("Models by source", ("source", "count", "what"), rows))
    registered = report["registered_models"]
    if registered is None:
        console.print("[dim]Registered SageMaker models: listing them needs the admin key.[/]")
    elif registered:
        rows = [(m["id"], m["endpoint_name"], m.get("flavour"), m.get("type")) for m in registered]
        console.print(table("Registered SageMaker models", ("id", "endpoint", "flavour", "type"), rows))
    deployments = report["deployments"]
    if deployments is None:
        console.print("[dim]Deployments: this server has no deployment routes.[/]")
    elif deployments:
        copies = any(d["copies"] is not None for d in deployments)
        rows = [
            (
                d["project"],
                d["name"],
                d["status"],
                d["base_model"],
                d["instance_type"],
                *((d["copies"],) if copies else ()),
                ago(d["last_accessed_at"]),
            )
            for d in deployments
        ]
        columns: tuple[str, ...] = ("project", "name", "status", "base model", "instance type")
        columns += (("copies",) if copies else ()) + ("last access",)
        console.print(table("Deployments", columns, rows))
        if not copies:
            console.print("[dim]Copies: this server does not report them.[/]")
    else:
        console.print("[dim]Deployments: none.[/]")
    jobs = report["training_jobs"]
    if jobs:
        rows = [
            (j["project"], j["id"], j.get("name"), j.get("status"), f"{j.get('progress', 0)}%") for j in jobs
        ]
        console.print(table("Running training jobs", ("project", "job", "name", "status", "progress"), rows))
    else:
        console.print("[dim]Training jobs: none running.[/]")


def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Where Relay is, where the admin key lives, and what it serves."""
    session = session_of(ctx)
    target = session.target
    report = {
        "base_url": target.base_url,
        "source": target.source,
        "api_key_location": target.key_location,
        "console_url": target.console_url,
        "stack_name": target.stack_name,
        "parameters": target.parameters,
        "outputs": target.outputs,
        **collect(session.api),
    }
    show(report, as_json, _render)
