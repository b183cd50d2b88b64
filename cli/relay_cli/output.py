"""Human output (Rich, progress on stderr so `--json` stdout stays parseable) and JSON output."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table


class CliError(Exception):
    """`relay` prints its message and exits with its code, no traceback.

    Typer vendors its own click, so click's exception classes are not the ones Typer catches;
    `main.run` catches this one instead.
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def format_message(self) -> str:
        return self.message


console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the resource as JSON, for scripts.")]


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def when(timestamp: Any) -> str:
    if not isinstance(timestamp, int | float) or timestamp <= 0:
        return "-"
    return datetime.fromtimestamp(float(timestamp), UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(timestamp: Any, now: float | None = None) -> str:
    if not isinstance(timestamp, int | float) or timestamp <= 0:
        return "never"
    seconds = max(0, int((now or time.time()) - float(timestamp)))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    out = Table(title=title, title_justify="left", title_style="bold")
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*(cell(v) for v in row))
    return out


def fields(title: str, item: dict[str, Any], skip: Sequence[str] = ()) -> Table:
    """One resource as a two-column table, every field the API returned (new ones included)."""
    out = Table(title=title, title_justify="left", title_style="bold", show_header=False)
    out.add_column("field", style="bold")
    out.add_column("value", overflow="fold")
    for name, value in item.items():
        if name in skip:
            continue
        shown = when(value) if name.endswith("_at") and isinstance(value, int | float) else cell(value)
        out.add_row(name, shown)
    return out


def show(data: Any, as_json: bool, render: Any) -> None:
    """`--json` prints the API's object unchanged; otherwise `render(data)` prints a view of it."""
    if as_json:
        emit_json(data)
    else:
        render(data)
