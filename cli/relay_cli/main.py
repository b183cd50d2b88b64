"""The `relay` command: `relay --help` lists everything.

Errors the API answers print its message and exit 1 (CliError subclasses); the
pretty traceback handler is off so an unexpected failure never dumps locals such as the key.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.markup import escape

from relay_cli import __version__
from relay_cli.commands import batches, chat, datasets, deployments, resources, status, training
from relay_cli.output import CliError, err_console
from relay_cli.session import Session

app = typer.Typer(
    name="relay",
    help=(
        "Relay from the terminal: status, models, keys, projects, datasets, training, deployments, batches, chat.\n\n"
        "Target: --base-url/--api-key, else --stack-name, else OPENAI_BASE_URL/OPENAI_API_KEY, else a "
        "running `make local` (its .relay-local.json), else RELAY_STACK_NAME."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"relay {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    base_url: Annotated[str | None, typer.Option(help="The API's base URL, ending in /v1.")] = None,
    api_key: Annotated[str | None, typer.Option(help="The API key (default: from the target).")] = None,
    stack_name: Annotated[
        str | None, typer.Option(help="A deployed stack: its outputs and admin key (your AWS credentials).")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    # A test may pre-seed ctx.obj with {"transport", "env", "cwd", "aws_session"}.
    seed = ctx.obj if isinstance(ctx.obj, dict) else {}
    ctx.obj = Session(base_url=base_url, api_key=api_key, stack_name=stack_name, **seed)


app.command("status")(status.status)
app.command("models")(resources.models)
app.add_typer(resources.keys_app, name="keys")
app.add_typer(resources.projects_app, name="projects")
app.add_typer(datasets.app, name="datasets")
app.command("train")(training.train)
app.add_typer(training.jobs_app, name="jobs")
app.command("deploy")(deployments.deploy)
app.add_typer(deployments.app, name="deployments")
app.add_typer(batches.app, name="batch")
app.command("chat")(chat.chat)


def run(argv: Sequence[str] | None = None, obj: dict[str, Any] | None = None) -> None:
    """The `relay` console script."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="relay", obj=obj)
    except CliError as exc:
        err_console.print(f"[red]Error:[/] {escape(exc.format_message())}", soft_wrap=True)
        sys.exit(exc.exit_code)
