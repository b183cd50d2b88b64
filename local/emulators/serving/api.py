"""What every hosting operation shares: AWS's error messages, name rules, listing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from local.emulators.serving.hosting import Record, arn

NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
NAME_PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
# The resource words SageMaker uses in its messages, by ARN resource type.
NOUNS = {
    "model": "model",
    "endpoint-config": "endpoint configuration",
    "endpoint": "endpoint",
    "inference-component": "inference component",
}


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def invalid(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def not_found(kind: str, name: str) -> ApiError:
    # SageMaker's hosting APIs answer a missing resource with ValidationException, never ResourceNotFound.
    return invalid(f'Could not find {NOUNS[kind]} "{arn(kind, name)}".')


def already_exists(kind: str, name: str) -> ApiError:
    return invalid(f'Cannot create already existing {NOUNS[kind]} "{arn(kind, name)}".')


def required(body: dict[str, Any], field: str) -> Any:
    value = body.get(field)
    if value in (None, "", [], {}):
        raise invalid(
            f"1 validation error detected: Value null at '{field[0].lower() + field[1:]}' failed to satisfy "
            "constraint: Member must not be null"
        )
    return value


def name(body: dict[str, Any], field: str) -> str:
    value = str(required(body, field))
    if not NAME.match(value):
        raise invalid(
            f"1 validation error detected: Value '{value}' at '{field[0].lower() + field[1:]}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}"
        )
    return value


def listing(
    body: dict[str, Any],
    records: Iterable[Record],
    key: str,
    summary: Callable[[Any], dict[str, Any]],
    status: Callable[[Any], str] | None = None,
) -> dict[str, Any]:
    """List* semantics: NameContains, CreationTime bounds, StatusEquals, SortBy/SortOrder, paging."""
    chosen = [r for r in records if str(body.get("NameContains") or "").lower() in r.name.lower()]
    if body.get("CreationTimeBefore") is not None:
        chosen = [r for r in chosen if r.created < float(body["CreationTimeBefore"])]
    if body.get("CreationTimeAfter") is not None:
        chosen = [r for r in chosen if r.created > float(body["CreationTimeAfter"])]
    if body.get("StatusEquals") and status is not None:
        chosen = [r for r in chosen if status(r) == body["StatusEquals"]]
    sort = body.get("SortBy") or "CreationTime"
    if sort not in ("Name", "CreationTime", "Status"):
        raise invalid(
            f"Value '{sort}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set"
        )
    ordering: dict[str, Callable[[Any], Any]] = {
        "Name": lambda r: r.name,
        "CreationTime": lambda r: r.created,
        "Status": lambda r: status(r) if status else "",
    }
    chosen.sort(key=ordering[sort], reverse=(body.get("SortOrder") or "Descending") == "Descending")
    try:
        start = int(body.get("NextToken") or 0)
    except ValueError as exc:
        raise invalid("Invalid pagination token") from exc
    size = int(body.get("MaxResults") or 10)
    if not 1 <= size <= 100:
        raise invalid(
            f"Value '{size}' at 'maxResults' failed to satisfy constraint: Member must be between 1 and 100"
        )
    page: dict[str, Any] = {key: [summary(r) for r in chosen[start : start + size]]}
    if start + size < len(chosen):
        page["NextToken"] = str(start + size)
    return page
