"""`POST /v1/completions`: legacy text completions served by chat models."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from relay.http.json_route import JSONBodyRoute
from relay.http.routes.chat import json_response
from relay.http.security import require_key, services_of
from relay.http.sse import sse_response
from relay.protocol.completions import CompletionRequest

router = APIRouter(dependencies=[Depends(require_key)], route_class=JSONBodyRoute)


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request) -> Response:
    service = services_of(request).completions
    if not body.stream:
        return json_response(await service.complete(body))
    first, rest = await service.stream(body)
    return sse_response(first, rest)
