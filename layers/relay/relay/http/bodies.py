"""JSON request bodies: the inference routes' (`validated_body`, one pass of the model's JSON
validator) and the control routes' (`json_body`, parsed by hand where the spec makes the body
optional)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.types import Scope

from relay.errors import BadRequestError
from relay.http.problems import describe

ModelT = TypeVar("ModelT", bound=BaseModel)
_MULTIPART = b"multipart/"


async def json_body(request: Request, model: type[ModelT], *, required: bool) -> ModelT:
    """The body as `model`; an absent body is `{}` unless required. Errors are 400s naming the field."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise BadRequestError("The request needs a JSON body with Content-Type: application/json")
        raw = b"{}"
    elif request.headers.get("content-type", "").lower().startswith("multipart/"):
        # Any other Content-Type is read as JSON anyway (`curl -d` says form-encoded).
        raise BadRequestError("Send the body as JSON with Content-Type: application/json")
    payload = _loads(raw)
    if not isinstance(payload, dict):
        raise BadRequestError("The JSON body must be an object")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise describe(exc.errors(), payload) from None


def _loads(raw: bytes) -> Any:
    """`json.loads`, its failures as 400s."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequestError(f"Malformed JSON body: {exc}") from None
    except RecursionError:
        raise BadRequestError("The JSON body is nested too deeply") from None


def _content_type(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value
    return b""


async def _body(request: Request) -> bytes:
    """The whole body, read straight from `receive` (one message, for any body a client sends
    in one piece) and left on the request for anyone who asks again."""
    message = await request.receive()
    body: bytes = message.get("body", b"")
    if message.get("more_body", False):
        chunks = [body]
        while message.get("more_body", False):
            message = await request.receive()
            chunks.append(message.get("body", b""))
        body = b"".join(chunks)
    if message["type"] == "http.disconnect":
        raise ClientDisconnect()
    request._body = body
    return body


async def validated_body(request: Request, model: type[ModelT]) -> ModelT:
    """The body as `model`, read as JSON whatever the Content-Type header says.

    The valid case is one pass of pydantic's JSON validator over the raw bytes. Anything
    else takes the old path (json.loads, then validation of the object), so what is
    accepted and every error message are what they were: UTF-16 bodies, NaN, lone
    surrogates and deep nesting included.
    """
    raw = await _body(request)
    if _content_type(request.scope).lower().startswith(_MULTIPART):
        raise BadRequestError("Send the body as JSON with Content-Type: application/json")
    try:
        return model.model_validate_json(raw)
    except ValidationError:
        pass
    if not raw.strip():
        raise BadRequestError("The request needs a JSON body with Content-Type: application/json")
    payload = _loads(raw)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise describe(exc.errors(), payload) from None
    except RecursionError:
        raise BadRequestError("The JSON body is nested too deeply") from None
