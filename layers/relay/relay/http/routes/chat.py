"""`POST /v1/chat/completions`: parse, hand to the chat service, answer JSON or SSE."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from relay.http.json_route import JSONBodyRoute
from relay.http.security import require_key, services_of
from relay.http.sse import model_json, sse_response
from relay.observability import logger
from relay.protocol.chat import ChatCompletionRequest

router = APIRouter(dependencies=[Depends(require_key)], route_class=JSONBodyRoute)


def json_response(model: object) -> Response:
    # pydantic's own serializer (Rust) is faster than FastAPI's response_model path.
    return Response(model_json(model), media_type="application/json")


@router.post("/v1/chat/completions")
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    if body.model_extra:
        logger.debug("extra request fields", extra={"fields": sorted(body.model_extra)})
    chat = services_of(request).chat
    if body.stream:
        first, rest = await chat.stream(body)
        return sse_response(first, rest)
    return json_response(await chat.complete(body))
