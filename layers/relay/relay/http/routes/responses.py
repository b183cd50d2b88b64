"""`/v1/responses`: create (JSON or an event stream), retrieve, delete, list input items.

Streams are `event: <type>` frames with a `sequence_number` in each; an error after the
first byte arrives as an `error` event and `response.failed` (the service emits them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from relay.errors import BadRequestError
from relay.http.bodies import validated_body
from relay.http.routing import blocking, principal_of
from relay.http.security import services_of
from relay.http.sse import event_stream_response, json_response, named_event
from relay.protocol.responses import ResponseCreateRequest
from relay.services.keys.models import Principal
from relay.services.responses.service import owner_of

_ORDERS = ("asc", "desc")


def _owner(request: Request) -> str:
    principal: Principal = principal_of(request)
    return owner_of(principal)


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


async def create_response(request: Request) -> Response:
    body = await validated_body(request, ResponseCreateRequest)
    responses = services_of(request).responses
    owner = _owner(request)
    if body.stream:
        first, rest = await responses.stream(body, owner)
        return event_stream_response(_frames(first, rest))
    return json_response(await responses.create(body, owner))


async def retrieve_response(request: Request) -> Response:
    service = services_of(request).responses
    response_id: str = request.path_params["response_id"]
    return json_response(await blocking(service.get, response_id, _owner(request)))


async def delete_response(request: Request) -> Response:
    service = services_of(request).responses
    response_id: str = request.path_params["response_id"]
    return json_response(await blocking(service.delete, response_id, _owner(request)))


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return 20
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequestError("limit: Input should be a valid integer", param="limit") from None
    if not 1 <= limit <= 100:
        raise BadRequestError("limit: Input should be between 1 and 100", param="limit")
    return limit


async def list_input_items(request: Request) -> Response:
    service = services_of(request).responses
    order = request.query_params.get("order", "desc")
    if order not in _ORDERS:
        raise BadRequestError("order: Input should be 'asc' or 'desc'", param="order")
    page = await blocking(
        service.input_items,
        request.path_params["response_id"],
        _owner(request),
        limit=_limit(request),
        order=order,
        after=request.query_params.get("after"),
    )
    return json_response(page)
