"""`relay datasets upload|list|show|delete`: direct multipart below 4 MiB, presigned S3 POST above."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from relay_cli.api import Api, ApiError
from relay_cli.output import CliError, JsonOption, console, err_console, fields, show, table, when
from relay_cli.session import session_of

app = typer.Typer(
    help="Datasets of a project: upload (with verification), list, show, delete.", no_args_is_help=True
)

# A direct upload travels inside one Lambda invocation: the server takes files up to about
# 4.4 MiB that way (relay.settings.DATASET_INLINE_MAX_BYTES). Below 4 MiB leaves room for framing.
DIRECT_MAX_BYTES = 4 * 1024 * 1024
CHUNK = 256 * 1024
VERIFY_POLL_SECONDS = 2.0
VERIFY_TIMEOUT_SECONDS = 1800.0
_LINE = re.compile(r"(?:: |; )(?=line \d+: )")


class Via(StrEnum):
    auto = "auto"
    direct = "direct"
    presigned = "presigned"


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def multipart(
    form: list[tuple[str, str]], path: Path, size: int, on_bytes: Callable[[int], None]
) -> tuple[dict[str, str], Iterator[bytes]]:
    """A multipart body streamed from disk, the file last (as S3's POST requires), with its length."""
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(k)}"\r\n\r\n{v}\r\n'.encode()
        for k, v in form
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{_quoted(path.name)}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail)),
    }

    def body() -> Iterator[bytes]:
        yield head
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                on_bytes(len(chunk))
                yield chunk
        yield tail

    return headers, body()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
        transient=False,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def readable(message: str) -> str:
    """`…: line 1: x; line 4: y` as one line per problem."""
    head, *problems = _LINE.split(message)
    return "\n".join([head + ":", *(f"  {p}" for p in problems)]) if problems else message


def _direct(api: Api, project: str, path: Path, size: int, name: str | None) -> dict[str, Any]:
    with _progress() as progress:
        task = progress.add_task(f"Uploading {path.name}", total=size)
        headers, body = multipart(
            [("name", name)] if name else [], path, size, lambda n: progress.advance(task, n)
        )
        return api.request("POST", f"/projects/{project}/datasets", content=body, headers=headers)


def _presigned(api: Api, project: str, path: Path, size: int, name: str | None) -> dict[str, Any]:
    declared = {"size": size, "sha256": _sha256(path), "filename": path.name}
    if name:
        declared["name"] = name
    started = api.post(f"/projects/{project}/datasets/uploads", json=declared)
    upload = started["upload"]
    with _progress() as progress:
        task = progress.add_task(f"Uploading {path.name} to S3", total=size)
        headers, body = multipart(
            list(upload["fields"].items()), path, size, lambda n: progress.advance(task, n)
        )
        api.post_raw(upload["url"], body, headers)
    return api.post(f"/projects/{project}/datasets/{started['id']}/complete")


def _await_verification(api: Api, project: str, dataset: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + VERIFY_TIMEOUT_SECONDS
    with err_console.status(f"Verifying {dataset['id']} (checksum and format)…"):
        while dataset.get("status") == "verifying" and time.monotonic() < deadline:
            time.sleep(VERIFY_POLL_SECONDS)
            dataset = api.get(f"/projects/{project}/datasets/{dataset['id']}")
    return dataset


def render_dataset(dataset: dict[str, Any]) -> None:
    console.print(fields(f"Dataset {dataset['id']}", dataset, skip=("error",)))
    error = dataset.get("error")
    if error:
        console.print(f"[red bold]Rejected ({error.get('code')}):[/] {error.get('message')}")
        for line in error.get("lines") or []:
            console.print(f"  line {line['line']}: {line['message']}")
        more = int(error.get("problem_lines") or 0) - len(error.get("lines") or [])
        if more > 0:
            console.print(f"  … and {more} more line(s) with problems")


@app.command("upload")
def upload(
    ctx: typer.Context,
    project_id: str,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (default: the file name).")] = None,
    via: Annotated[Via, typer.Option(help="auto picks direct below 4 MiB, presigned S3 above.")] = Via.auto,
    wait: Annotated[bool, typer.Option(help="Wait while the server verifies a large upload.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Upload a JSONL dataset, then report its verification and any line errors."""
    api = session_of(ctx).api
    size = file.stat().st_size
    direct = via is Via.direct or (via is Via.auto and size <= DIRECT_MAX_BYTES)
    try:
        try:
            dataset = (_direct if direct else _presigned)(api, project_id, file, size, name)
        except ApiError as exc:
            # A server configured with a smaller direct limit answers 413: S3 takes the file instead.
            if not (exc.status == 413 and direct and via is Via.auto):
                raise
            err_console.print(f"[dim]{exc.message}; uploading through presigned S3 instead.[/]")
            dataset = _presigned(api, project_id, file, size, name)
    except ApiError as exc:
        if exc.code == "invalid_dataset":
            raise CliError(readable(exc.message)) from None
        raise
    if wait and dataset.get("status") == "verifying":
        dataset = _await_verification(api, project_id, dataset)
    show(dataset, as_json, render_dataset)
    if dataset.get("status") == "invalid":
        raise typer.Exit(1)


def dataset_table(datasets: list[dict[str, Any]]) -> Table:
    """Datasets one a row, as `datasets list` and `projects show` print them."""
    rows = [(d["id"], d.get("name"), d.get("is_uploaded"), when(d.get("created_at"))) for d in datasets]
    return table("Datasets", ("id", "name", "uploaded", "created"), rows)


@app.command("list")
def list_(ctx: typer.Context, project_id: str, as_json: JsonOption = False) -> None:
    """The project's datasets."""
    datasets = session_of(ctx).api.get(f"/projects/{project_id}/datasets")
    show(datasets, as_json, lambda ds: console.print(dataset_table(ds)))


@app.command("show")
def show_(ctx: typer.Context, project_id: str, dataset_id: str, as_json: JsonOption = False) -> None:
    """One dataset, with its verification status and line errors."""
    show(session_of(ctx).api.get(f"/projects/{project_id}/datasets/{dataset_id}"), as_json, render_dataset)


@app.command("delete")
def delete(ctx: typer.Context, project_id: str, dataset_id: str, as_json: JsonOption = False) -> None:
    """Delete a dataset."""
    session_of(ctx).api.delete(f"/projects/{project_id}/datasets/{dataset_id}")
    show(
        {"id": dataset_id, "deleted": True},
        as_json,
        lambda _: console.print(f"Deleted dataset {dataset_id}."),
    )
