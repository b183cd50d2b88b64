"""`/v1/responses`: create (JSON or an event stream), retrieve, delete, list input items.

Streams are `event: <type>` frames with a `sequence_number` in each; an error after the
first byte arrives as an `error` event and `response.failed` (the service emits them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from relay.http.json_route import JSONBodyRoute
from relay.http.routes.chat import json_response
from relay.http.security import require_key, services_of
from relay.http.sse import event_stream_response, named_event
from relay.protocol.responses import ResponseCreateRequest
from relay.services.keys.models import Principal
from relay.services.responses.service import owner_of

router = APIRouter(route_class=JSONBodyRoute)


async def _frames(first: list[dict[str, Any]], rest: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    try:
        for event in first:
            yield named_event(event["type"], event)
        async for event in rest:
            yield named_event(event["type"], event)
    finally:
        aclose = getattr(rest, "aclose", None)
        if aclose is not None:
            await aclose()


@router.post("/v1/responses")
async def create_response(
    body: ResponseCreateRequest, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    responses = services_of(request).responses
    if body.stream:
        first, rest = await responses.stream(body, owner_of(principal))
        return event_stream_response(_frames(first, rest))
    return json_response(await responses.create(body, owner_of(principal)))


@router.get("/v1/responses/{response_id}")
async def retrieve_response(
    response_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    service = services_of(request).responses
    return json_response(await run_in_threadpool(service.get, response_id, owner_of(principal)))


@router.delete("/v1/responses/{response_id}")
async def delete_response(
    response_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    service = services_of(request).responses
    return json_response(await run_in_threadpool(service.delete, response_id, owner_of(principal)))


@router.get("/v1/responses/{response_id}/input_items")
async def list_input_items(
    response_id: str,
    request: Request,
    principal: Principal = Depends(require_key),
    limit: int = Query(default=20, ge=1, le=100),
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> Response:
    service = services_of(request).responses
    page = await run_in_threadpool(
        service.input_items, response_id, owner_of(principal), limit=limit, order=order, after=after
    )
    return json_response(page)
