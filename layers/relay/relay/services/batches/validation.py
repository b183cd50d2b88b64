"""A batch input file checked before anything runs: every line, with its line number.

Each non-blank line must be a JSON object with a unique `custom_id`, `method` POST, `url`
equal to the batch's endpoint and a `body` naming a `model`; at most 50,000 lines and 200 MB.
The file streams through once; only the custom_ids seen so far are kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from relay.services.datasets.lines import TOO_LONG, HashingLines, decode_line

MAX_LINES = 50_000
MAX_BYTES = 200 * 1024 * 1024
# A broken file can fail on every line; the batch keeps the first ones, as OpenAI's does.
MAX_REPORTED_ERRORS = 100


@dataclass
class Validation:
    lines: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    def add(self, code: str, line: int | None, message: str, param: str | None = None) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"code": code, "line": line, "message": message, "param": param})


@dataclass(frozen=True)
class InputLine:
    number: int
    text: str
    model: str
    end: int  # byte offset just past this line's newline


def numbered_lines(chunks: Iterable[bytes], start: int = 0) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, raw bytes or None if too long, end offset) from byte offset `start`."""
    offset = start
    for number, raw in HashingLines(chunks):
        length = 0 if raw is TOO_LONG else len(raw)  # type: ignore[arg-type]
        offset += length + 1  # the newline (a last line without one overshoots harmlessly)
        yield number, None if raw is TOO_LONG else raw, offset  # type: ignore[misc]


def check_line(
    number: int, raw: bytes | None, endpoint: str
) -> tuple[dict[str, Any] | None, str, str, str | None]:
    """(the parsed line or None, error code, message, param) for one raw line."""
    if raw is None:
        return None, "line_too_long", f"line {number} is longer than the line limit", None
    try:
        parsed = json.loads(decode_line(raw, number))
    except (ValueError, RecursionError) as exc:
        return None, "invalid_json_line", f"line {number} is not valid JSON: {exc}", None
    if not isinstance(parsed, dict):
        return None, "invalid_json_line", f"line {number} is not a JSON object", None
    custom_id = parsed.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return None, "missing_required_parameter", f"line {number} has no custom_id", "custom_id"
    if parsed.get("method") != "POST":
        return None, "invalid_method", f"line {number}: method must be POST", "method"
    if parsed.get("url") != endpoint:
        return None, "mismatched_url", f"line {number}: url must be the batch's endpoint {endpoint}", "url"
    body = parsed.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        return None, "missing_required_parameter", f"line {number}: body must name a model", "body.model"
    return parsed, "", "", None


def validate(chunks: Iterable[bytes], endpoint: str, size: int) -> Validation:
    result = Validation()
    if size > MAX_BYTES:
        result.add(
            "file_too_large", None, f"The input file is {size} bytes; a batch takes at most {MAX_BYTES}"
        )
        return result
    seen: set[str] = set()
    for number, raw, _ in numbered_lines(chunks):
        if raw is not None and not raw.strip():
            continue
        result.lines += 1
        if result.lines > MAX_LINES:
            result.add("too_many_lines", number, f"A batch takes at most {MAX_LINES} lines")
            break
        parsed, code, message, param = check_line(number, raw, endpoint)
        if parsed is None:
            result.add(code, number, message, param)
            continue
        if parsed["custom_id"] in seen:
            result.add(
                "duplicate_custom_id",
                number,
                f"line {number} repeats custom_id {parsed['custom_id']!r}",
                "custom_id",
            )
        seen.add(parsed["custom_id"])
    if result.lines == 0 and not result.errors:
        result.add("empty_file", None, "The input file has no request lines")
    return result
