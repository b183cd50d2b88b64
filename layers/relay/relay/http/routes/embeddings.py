"""`POST /v1/embeddings` (OpenAI's API, plus the similarity form when `target` is set)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from relay.http.bodies import validated_body
from relay.http.routing import blocking
from relay.http.security import services_of
from relay.http.sse import json_response
from relay.protocol.embeddings import EmbeddingRequest


async def create_embeddings(request: Request) -> Response:
    body = await validated_body(request, EmbeddingRequest)
    return json_response(await blocking(services_of(request).embeddings.create, body))
