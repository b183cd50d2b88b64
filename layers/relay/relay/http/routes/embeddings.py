"""`POST /v1/embeddings` (OpenAI's API, plus the similarity form when `target` is set)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from relay.http.routing import Endpoint, blocking, json_body
from relay.http.security import services_of
from relay.http.sse import json_response
from relay.protocol.embeddings import EmbeddingRequest


async def create_embeddings(request: Request) -> Response:
    body = await json_body(request, EmbeddingRequest)
    return json_response(await blocking(services_of(request).embeddings.create, body))


routes = [Endpoint("/v1/embeddings", create_embeddings, method="POST", body=EmbeddingRequest)]
