"""JSON request bodies for control routes, parsed by hand where the spec makes the body optional."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from relay.errors import BadRequestError
from relay.http.problems import describe

ModelT = TypeVar("ModelT", bound=BaseModel)


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
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequestError(f"Malformed JSON body: {exc}") from None
    except RecursionError:
        raise BadRequestError("The JSON body is nested too deeply") from None
    if not isinstance(payload, dict):
        raise BadRequestError("The JSON body must be an object")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise describe(exc.errors(), payload) from None
