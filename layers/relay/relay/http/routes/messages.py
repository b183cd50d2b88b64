"""`POST /v1/messages` and `/v1/messages/count_tokens`: Anthropic's Messages API.

Errors use Anthropic's envelope (chosen by path in `relay.http.envelope`). Streams are
`event: <type>` frames; an error after the first byte is an `error` event, which the
Anthropic SDK raises, and ends the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response

from relay.errors import RelayError
from relay.http.bodies import validated_body
from relay.http.envelope import anthropic_error_body
from relay.http.security import services_of
from relay.http.sse import event_stream_response, json_response, named_event
from relay.observability import logger
from relay.protocol.messages import CountTokensRequest, MessageCreateRequest, StreamEvent


async def _frames(first: list[StreamEvent], rest: AsyncIterator[StreamEvent]) -> AsyncIterator[bytes]:
    try:
        for event in first:
            yield named_event(event.type, event)
        try:
            async for event in rest:
                yield named_event(event.type, event)
        except RelayError as exc:
            yield named_event("error", anthropic_error_body(exc))
        except Exception:
            logger.exception("stream failed after its first byte")
            yield named_event(
                "error", anthropic_error_body(RelayError("The stream failed; see the request id"))
            )
    finally:
        aclose = getattr(rest, "aclose", None)
        if aclose is not None:
            await aclose()


async def create_message(request: Request) -> Response:
    body = await validated_body(request, MessageCreateRequest)
    messages = services_of(request).messages
    if body.stream:
        first, rest = await messages.stream(body)
        return event_stream_response(_frames(first, rest))
    return json_response(await messages.create(body))


async def count_tokens(request: Request) -> Response:
    body = await validated_body(request, CountTokensRequest)
    return json_response(await services_of(request).messages.count_tokens(body))
