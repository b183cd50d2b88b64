"""`POST /v1/chat/completions`: parse, hand to the chat service, answer JSON or SSE."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from relay.http.bodies import validated_body
from relay.http.security import services_of
from relay.http.sse import json_response, sse_response
from relay.observability import logger
from relay.protocol.chat import ChatCompletionRequest


async def chat_completions(request: Request) -> Response:
    body = await validated_body(request, ChatCompletionRequest)
    if body.model_extra:
        logger.debug("extra request fields", extra={"fields": sorted(body.model_extra)})
    chat = services_of(request).chat
    if body.stream:
        first, rest = await chat.stream(body)
        return sse_response(first, rest)
    return json_response(await chat.complete(body))
