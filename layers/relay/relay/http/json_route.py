"""A route class whose JSON body is read as JSON whatever the Content-Type header says.

`curl -d '{...}'` sends `application/x-www-form-urlencoded` unless told otherwise, and
FastAPI then hands the raw bytes to the model ("Input should be a valid dictionary ...").
A JSON route has only one way to read its body, so the header is not needed to choose one.
Multipart bodies are left alone: a client that sends a form to a JSON route gets the
model's own "must be an object" answer, not a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

_JSON = b"application/json"


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == _JSON or (media.startswith(b"application/") and media.endswith(b"+json"))


class JSONBodyRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def as_json(request: Request) -> Response:
            headers = request.scope["headers"]
            content_type = next((v for k, v in headers if k == b"content-type"), b"")
            if not _is_json(content_type) and not content_type.lower().startswith(b"multipart/"):
                kept = [(k, v) for k, v in headers if k != b"content-type"]
                scope = {**request.scope, "headers": [*kept, (b"content-type", _JSON)]}
                request = Request(scope, request.receive)
            return await handler(request)

        return as_json
