"""`POST /v1/completions`: legacy text completions served by chat models."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from relay.http.bodies import validated_body
from relay.http.security import services_of
from relay.http.sse import json_response, sse_response
from relay.protocol.completions import CompletionRequest


async def completions(request: Request) -> Response:
    body = await validated_body(request, CompletionRequest)
    service = services_of(request).completions
    if not body.stream:
        return json_response(await service.complete(body))
    first, rest = await service.stream(body)
    return sse_response(first, rest)
