"""`relay models`, `relay keys …`, `relay projects …`: list, create, show, delete."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from relay_cli.api import ApiError
from relay_cli.commands.datasets import dataset_table
from relay_cli.commands.deployments import deployment_table
from relay_cli.output import JsonOption, console, err_console, fields, show, table, when
from relay_cli.session import session_of

keys_app = typer.Typer(help="API keys (admin key only).", no_args_is_help=True)
projects_app = typer.Typer(
    help="Projects: the home of datasets, training jobs and deployments.", no_args_is_help=True
)

NameOption = Annotated[str | None, typer.Option("--name", help="A name to recognise it by.")]


def models(
    ctx: typer.Context,
    model_type: Annotated[
        str | None, typer.Option("--type", help="Only this type: chat, completion, embeddings, rerank, ...")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The models Relay serves (GET /v1/models)."""
    listed = session_of(ctx).api.get("/models")["data"]
    if model_type:
        listed = [m for m in listed if m.get("type") == model_type]

    def render(items: list[dict[str, Any]]) -> None:
        rows = [(m["id"], m.get("type"), m.get("owned_by"), m.get("name")) for m in items]
        console.print(table(f"{len(items)} models", ("id", "type", "owned by", "name"), rows))

    show(listed, as_json, render)


# ------------------------------------------------------------------------------------- keys


def _key_rows(keys: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (k["id"], k.get("name"), k.get("prefix"), when(k.get("created_at")), when(k.get("last_used_at")))
        for k in keys
    ]


@keys_app.command("create")
def keys_create(ctx: typer.Context, name: NameOption = None, as_json: JsonOption = False) -> None:
    """Create an API key; its secret is shown this once."""
    created = session_of(ctx).api.post("/keys", json={"name": name} if name else {})

    def render(key: dict[str, Any]) -> None:
        console.print(fields(f"API key {key['id']}", key, skip=("key",)))
        console.print(f"[bold]Key:[/] {key['key']}")
        err_console.print("[yellow]Store it now: Relay keeps only its hash and cannot show it again.[/]")

    show(created, as_json, render)


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every API key (never their secrets)."""
    keys = session_of(ctx).api.get("/keys")
    show(
        keys,
        as_json,
        lambda ks: console.print(
            table("API keys", ("id", "name", "prefix", "created", "last used"), _key_rows(ks))
        ),
    )


@keys_app.command("show")
def keys_show(ctx: typer.Context, key_id: str, as_json: JsonOption = False) -> None:
    """One API key, with its limits where the server has them."""
    found = [k for k in session_of(ctx).api.get("/keys") if k["id"] == key_id]
    if not found:
        raise ApiError(404, f"API key {key_id} not found", "object_not_found")
    show(found[0], as_json, lambda k: console.print(fields(f"API key {k['id']}", k)))


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: str, as_json: JsonOption = False) -> None:
    """Revoke an API key: it stops working within the server's auth cache TTL."""
    session_of(ctx).api.delete(f"/keys/{key_id}")
    show({"id": key_id, "revoked": True}, as_json, lambda _: console.print(f"Revoked API key {key_id}."))


# --------------------------------------------------------------------------------- projects


def _project_rows(projects: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(p["id"], p.get("name"), when(p.get("created_at")), when(p.get("updated_at"))) for p in projects]


def render_project(project: dict[str, Any]) -> None:
    console.print(
        fields(f"Project {project['id']}", project, skip=("datasets", "training_jobs", "deployments"))
    )
    datasets = project.get("datasets") or []
    if datasets:
        console.print(dataset_table(datasets))
    jobs = project.get("training_jobs") or []
    if jobs:
        rows = [
            (j["id"], j.get("name"), j.get("status"), j.get("base_model"), j.get("progress")) for j in jobs
        ]
        console.print(table("Training jobs", ("id", "name", "status", "base model", "progress"), rows))
    deployments = project.get("deployments") or []
    if deployments:
        console.print(deployment_table(deployments))


@projects_app.command("create")
def projects_create(ctx: typer.Context, name: NameOption = None, as_json: JsonOption = False) -> None:
    """Create a project."""
    project = session_of(ctx).api.post("/projects", json={"name": name} if name else {})
    show(project, as_json, lambda p: console.print(fields(f"Created project {p['id']}", p)))


@projects_app.command("list")
def projects_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every project."""
    projects = session_of(ctx).api.get("/projects")
    show(
        projects,
        as_json,
        lambda ps: console.print(table("Projects", ("id", "name", "created", "updated"), _project_rows(ps))),
    )


@projects_app.command("show")
def projects_show(ctx: typer.Context, project_id: str, as_json: JsonOption = False) -> None:
    """A project with its datasets, training jobs and deployments."""
    show(session_of(ctx).api.get(f"/projects/{project_id}"), as_json, render_project)


@projects_app.command("delete")
def projects_delete(ctx: typer.Context, project_id: str, as_json: JsonOption = False) -> None:
    """Delete a project."""
    session_of(ctx).api.delete(f"/projects/{project_id}")
    show(
        {"id": project_id, "deleted": True},
        as_json,
        lambda _: console.print(f"Deleted project {project_id}."),
    )
