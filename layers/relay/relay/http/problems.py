"""pydantic validation errors as one 400 that lists every problem, each with its field.

pydantic's error locations carry the tags of union members (`tool`, `constrained-str`,
`list[constrained-str]`) between field names; the wire `param` is the path through the
body the client sent, so a location segment is kept only where the body has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from relay.errors import BadRequestError

_SOURCES = ("body", "query", "path", "header", "form")
# pydantic's type-mismatch error kinds -> what OpenAI's wording says was expected.
_EXPECTED = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_type": "a boolean",
    "string_type": "a string",
    "float_type": "a number",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def _got(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a decimal"), (str, "a string")):
        if isinstance(value, kind):
            return name
    return "an array" if isinstance(value, list) else "an object"


def param_of(loc: Sequence[int | str], body: Any) -> str | None:
    """The dotted path of `loc` through `body`, without union-member tags."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    node, kept = body, []
    for i, part in enumerate(parts):
        if isinstance(part, int):
            kept.append(str(part))
            node = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
        elif isinstance(node, dict) and part in node:
            kept.append(part)
            node = node[part]
        elif isinstance(node, dict) and i == len(parts) - 1:
            kept.append(part)  # a required field the body lacks
        # anything else is a union member's tag, not a field of the body
    return ".".join(kept) or None


def _message(error: dict[str, Any], param: str | None) -> str:
    expected = _EXPECTED.get(str(error.get("type", "")))
    if expected and param:
        return f"Invalid type for '{param}': expected {expected}, but got {_got(error.get('input'))} instead."
    text = str(error.get("msg", "Invalid value"))
    return f"{param}: {text}" if param else text


def describe(errors: Sequence[Any], body: Any) -> BadRequestError:
    """One 400 naming every problem; `param` is the first one's field."""
    found = [(param_of(tuple(e.get("loc", ())), body), dict(e)) for e in errors]
    params = [p or "" for p, _ in found]
    kept: dict[str | None, dict[str, Any]] = {}
    for param, error in found:
        is_type = str(error.get("type", "")) in _EXPECTED
        # A union reports each member's failure: a type mismatch on one member is noise
        # when another member got further (a deeper field, or a real error on this one).
        if is_type and any(p.startswith(f"{param}.") for p in params if param):
            continue
        if param in kept and (is_type or str(kept[param].get("type", "")) not in _EXPECTED):
            continue
        kept[param] = error
    if not kept:
        return BadRequestError("Invalid request")
    messages = [_message(error, param) for param, error in kept.items()]
    first = next(iter(kept))
    return BadRequestError("; ".join(messages), param=first)
