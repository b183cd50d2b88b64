"""`relay batch submit|list|show|cancel|results`: OpenAI's Batch API through the openai SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from relay_cli.api import sdk_errors
from relay_cli.batch_wait import TERMINAL, follow, progress_of
from relay_cli.output import CliError, JsonOption, console, emit_json, err_console, fields, show, table, when
from relay_cli.session import session_of

app = typer.Typer(help="Batches: a JSONL file of requests run in the background.", no_args_is_help=True)


def parse_metadata(pairs: list[str]) -> dict[str, str] | None:
    metadata: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--metadata {pair!r}: expected KEY=VALUE")
        metadata[key] = value
    return metadata or None


def counts_line(batch: dict[str, Any]) -> str:
    counts = batch.get("request_counts") or {}
    return (
        f"{counts.get('completed', 0)} completed, {counts.get('failed', 0)} failed "
        f"of {counts.get('total', 0)} requests"
    )


def _render(batch: dict[str, Any]) -> None:
    console.print(fields(f"Batch {batch['id']}", batch, skip=("object", "errors")))
    errors = (batch.get("errors") or {}).get("data") or []
    if errors:
        rows = [(e.get("line"), e.get("code"), e.get("param"), e.get("message")) for e in errors]
        console.print(table("Errors in the input file", ("line", "code", "param", "message"), rows))


def _summary(batch: dict[str, Any]) -> None:
    """After --wait: the status, the counts and where the results are."""
    console.print(f"Batch {batch['id']} {batch['status']}: {counts_line(batch)}")
    console.print(f"Output file: {batch.get('output_file_id') or '-'}")
    console.print(f"Error file:  {batch.get('error_file_id') or '-'}")
    for error in (batch.get("errors") or {}).get("data") or []:
        console.print(f"  line {error.get('line')}: {error.get('code')}: {error.get('message')}")


@app.command("submit")
def submit(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A JSONL file, one request a line.")],
    endpoint: Annotated[
        str, typer.Option(help="Every line's url, e.g. /v1/chat/completions or /v1/embeddings.")
    ],
    completion_window: Annotated[str, typer.Option(help="How long the batch may run.")] = "24h",
    metadata: Annotated[
        list[str] | None, typer.Option("--metadata", help="KEY=VALUE, repeatable (up to 16).")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Show progress until it ends; exit 1 unless completed.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Upload FILE (purpose batch) and create a batch over it."""
    if not file.is_file():
        raise CliError(f"No such file: {file}")
    tags = parse_metadata(metadata or [])
    client = session_of(ctx).openai()
    with sdk_errors():
        with file.open("rb") as body:
            uploaded = client.files.create(file=(file.name, body), purpose="batch")
        err_console.print(f"Uploaded {file.name} as {uploaded.id}")
        extra = {"metadata": tags} if tags else {}
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint=endpoint, completion_window=completion_window, **extra
        ).model_dump()
        if wait:
            batch = follow(lambda: client.batches.retrieve(batch["id"]).model_dump(), batch)
    if as_json:
        emit_json(batch)
    elif wait:
        _summary(batch)
    else:
        _render(batch)
    if wait and batch["status"] != "completed":
        raise typer.Exit(1)


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Your key's batches."""
    with sdk_errors():
        page = session_of(ctx).openai().batches.list(limit=limit)
    items = [b.model_dump() for b in page.data]

    def render(batches: list[dict[str, Any]]) -> None:
        rows = []
        for b in batches:
            _, done, failed, total = progress_of(b)
            rows.append(
                (b["id"], b["status"], b["endpoint"], f"{done}/{total}", failed, when(b.get("created_at")))
            )
        console.print(table("Batches", ("id", "status", "endpoint", "done", "failed", "created"), rows))

    show(items, as_json, render)


@app.command("show")
def show_(ctx: typer.Context, batch_id: str, as_json: JsonOption = False) -> None:
    """One batch: status, counts, files, usage, input-file errors."""
    with sdk_errors():
        batch = session_of(ctx).openai().batches.retrieve(batch_id).model_dump()
    show(batch, as_json, _render)


@app.command("cancel")
def cancel(ctx: typer.Context, batch_id: str, as_json: JsonOption = False) -> None:
    """Stop dispatching a batch's requests; what finished is still written out."""
    with sdk_errors():
        batch = session_of(ctx).openai().batches.cancel(batch_id).model_dump()
    show(batch, as_json, lambda b: console.print(f"Batch {b['id']} is {b['status']}."))


@app.command("results")
def results(
    ctx: typer.Context,
    batch_id: str,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file.")] = None,
    errors: Annotated[bool, typer.Option("--errors", help="The error file instead of the output.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Download a batch's output file (or with --errors its error file): JSONL to stdout or -o."""
    client = session_of(ctx).openai()
    with sdk_errors():
        batch = client.batches.retrieve(batch_id)
        file_id = batch.error_file_id if errors else batch.output_file_id
        which = "error" if errors else "output"
        if not file_id:
            ended = "" if batch.status in TERMINAL else " yet"
            raise CliError(f"Batch {batch_id} ({batch.status}) has no {which} file{ended}")
        content = client.files.content(file_id).read()
    if output is not None:
        output.write_bytes(content)
        lines = content.count(b"\n")
        show(
            {"batch_id": batch_id, "file_id": file_id, "path": str(output), "lines": lines},
            as_json,
            lambda r: err_console.print(f"Wrote {r['lines']} {which} lines of {file_id} to {r['path']}"),
        )
    elif as_json:
        emit_json([json.loads(line) for line in content.decode().splitlines() if line.strip()])
    else:
        typer.echo(content.decode(), nl=False)
