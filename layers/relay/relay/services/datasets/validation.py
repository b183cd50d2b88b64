"""Dataset formats and their validation, line by line, in one streaming pass that also hashes.

Accepted formats (one per file, set by its first valid row):

- `chat` (JSONL): `{"messages": [{"role": "system"|"user"|"assistant"|"tool", "content": ...}]}`
  with at least one user and one assistant message.
- `prompt_completion` (JSONL): `{"prompt": "...", "completion": "..."}`.
- `classification` (JSONL or CSV): `text` and `label` (string or integer), optional `text_pair`.
- `regression` (JSONL or CSV): `text` and a numeric `score`, optional `text_pair`.
- `pairs` (JSONL or CSV): `anchor` and `positive` texts, optional `negative`, for embedding models.

CSV files need a header row naming the columns. Blank lines are ignored.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from relay.services.datasets.lines import TOO_LONG, HashingLines, decode_line

MAX_REPORTED = 20
# The formats a dataset can have (its first valid row decides); training jobs name what they accept.
DatasetFormat = Literal["chat", "prompt_completion", "classification", "regression", "pairs"]
_ROLES = frozenset({"system", "user", "assistant", "tool"})
_UNKNOWN_ROW = (
    "unrecognised row: expected 'messages', 'prompt' and 'completion', 'text' and 'label', "
    "'text' and 'score', or 'anchor' and 'positive'"
)


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ValidationReport:
    format: DatasetFormat | None = None
    rows: int = 0
    problems: list[LineProblem] = field(default_factory=list)  # the first MAX_REPORTED
    problem_lines: int = 0
    size: int = 0
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.problem_lines == 0 and self.rows > 0

    def add(self, line: int, message: str) -> None:
        self.problem_lines += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(LineProblem(line, message))

    def summary(self) -> str:
        if self.rows == 0 and self.problem_lines == 0:
            return "The dataset is empty: it has no rows"
        shown = "; ".join(str(p) for p in self.problems)
        more = self.problem_lines - len(self.problems)
        tail = f" (and {more} more line{'s' if more != 1 else ''} with problems)" if more > 0 else ""
        return f"The dataset is not valid ({self.problem_lines} line(s) with problems): {shown}{tail}"


def detect_format(row: dict[str, Any]) -> DatasetFormat | None:
    if "messages" in row:
        return "chat"
    if "prompt" in row and "completion" in row:
        return "prompt_completion"
    if "text" in row and "label" in row:
        return "classification"
    if "text" in row and "score" in row:
        return "regression"
    if "anchor" in row and "positive" in row:
        return "pairs"
    return None


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _check_chat(row: dict[str, Any]) -> str | None:
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    roles = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages[{i}] must be an object"
        role = message.get("role")
        if role not in _ROLES:
            return f"messages[{i}].role must be one of {', '.join(sorted(_ROLES))}"
        content = message.get("content")
        if not isinstance(content, (str, list)) and not (role == "assistant" and message.get("tool_calls")):
            return f"messages[{i}].content must be a string or a list of content parts"
        roles.append(role)
    if "user" not in roles or "assistant" not in roles:
        return "'messages' needs at least one user and one assistant message"
    return None


def check_row(fmt: str, row: dict[str, Any]) -> str | None:
    """The problem with one row of a known format, or None."""
    if fmt == "chat":
        return _check_chat(row)
    if fmt == "prompt_completion":
        if not _is_text(row.get("prompt")):
            return "'prompt' must be a non-empty string"
        return None if isinstance(row.get("completion"), str) else "'completion' must be a string"
    if fmt == "pairs":
        for key in ("anchor", "positive"):
            if not _is_text(row.get(key)):
                return f"'{key}' must be a non-empty string"
        if "negative" in row and not _is_text(row["negative"]):
            return "'negative' must be a non-empty string"
        return None
    if not _is_text(row.get("text")):
        return "'text' must be a non-empty string"
    if "text_pair" in row and not isinstance(row["text_pair"], str):
        return "'text_pair' must be a string"
    if fmt == "classification":
        label = row.get("label")
        if isinstance(label, bool) or not (_is_text(label) or isinstance(label, int)):
            return "'label' must be a non-empty string or an integer"
        return None
    score = row.get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        return "'score' must be a finite number"
    return None


class _Rows:
    """Records each row's format against the first one."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        self.first_line = 0

    def take(self, line: int, row: dict[str, Any]) -> None:
        report = self.report
        fmt = detect_format(row)
        if fmt is None:
            report.add(line, _UNKNOWN_ROW)
            return
        if report.format is None:
            report.format, self.first_line = fmt, line
        elif fmt != report.format:
            report.add(line, f"a {fmt} row, but line {self.first_line} made this a {report.format} dataset")
            return
        problem = check_row(fmt, row)
        if problem:
            report.add(line, problem)
        else:
            report.rows += 1


def text_lines(lines: HashingLines, report: ValidationReport) -> Iterator[tuple[int, str]]:
    """Each line as text; a line too long or not UTF-8 is reported and passed over."""
    for number, raw in lines:
        if raw is TOO_LONG:
            report.add(number, "line is too long")
            continue
        assert isinstance(raw, bytes)
        try:
            yield number, decode_line(raw, number)
        except ValueError as exc:
            report.add(number, str(exc))


def json_lines(lines: Iterable[tuple[int, str]], report: ValidationReport) -> Iterator[tuple[int, Any]]:
    """Each JSONL line's value; blank lines are skipped, a line that is not JSON is reported."""
    for number, text in lines:
        if not text.strip():
            continue
        try:
            yield number, json.loads(text)
        except json.JSONDecodeError as exc:
            report.add(number, f"not valid JSON ({exc.msg} at column {exc.colno})")


def _validate_jsonl(lines: Iterator[tuple[int, str]], report: ValidationReport) -> None:
    rows = _Rows(report)
    for number, row in json_lines(lines, report):
        if not isinstance(row, dict):
            report.add(number, f"expected a JSON object, got {type(row).__name__}")
            continue
        rows.take(number, row)


def _validate_csv(lines: Iterator[tuple[int, str]], report: ValidationReport) -> None:
    position = {"line": 0}

    def feed() -> Iterator[str]:
        for number, text in lines:
            position["line"] = number
            yield text + "\n"

    reader = csv.reader(feed())
    header: list[str] | None = None
    rows = _Rows(report)
    while True:
        start = position["line"] + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.add(start, f"malformed CSV ({exc})")
            continue
        if not any(v.strip() for v in values):
            continue
        if header is None:
            header = [h.strip().lower() for h in values]
            if "text" not in header or not ({"label", "score"} & set(header)):
                report.add(start, "the CSV header must name a 'text' column and a 'label' or 'score' column")
                return
            continue
        if len(values) != len(header):
            report.add(start, f"expected {len(header)} columns as in the header, found {len(values)}")
            continue
        row: dict[str, Any] = dict(zip(header, values, strict=True))
        if "score" in row:
            with contextlib.suppress(ValueError):  # check_row then names the column
                row["score"] = float(row["score"])
        rows.take(start, row)


def validate_dataset(chunks: Iterable[bytes], filename: str) -> ValidationReport:
    """Validate a dataset in one pass; the report also carries its size and SHA-256."""
    report = ValidationReport()
    lines = HashingLines(chunks)
    text = text_lines(lines, report)
    lower = filename.lower()
    if lower.endswith(".csv"):
        _validate_csv(text, report)
    elif lower.endswith((".jsonl", ".json", ".ndjson")):
        _validate_jsonl(text, report)
    else:
        # No telling extension: a JSON object on the first non-blank line means JSONL.
        first: list[tuple[int, str]] = []
        for item in text:
            first.append(item)
            if item[1].strip():
                break
        is_json = bool(first) and first[-1][1].lstrip().startswith("{")
        (_validate_jsonl if is_json else _validate_csv)(_chain(first, text), report)
    lines.drain()  # after an early stop, so the hash and size still cover the whole file
    report.size, report.sha256 = lines.size, lines.sha256
    return report


def _chain(head: list[tuple[int, str]], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield from head
    yield from rest
