"""`POST /v1/rerank`, `POST /v1/classification` and `POST /v1/invocations`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from relay.http.bodies import validated_body
from relay.http.routing import blocking
from relay.http.security import services_of
from relay.http.sse import json_response
from relay.protocol.classification import ClassificationRequest, InvocationRequest
from relay.protocol.rerank import RerankRequest


async def rerank(request: Request) -> Response:
    body = await validated_body(request, RerankRequest)
    return json_response(await blocking(services_of(request).rerank.rerank, body))


async def classify(request: Request) -> Response:
    body = await validated_body(request, ClassificationRequest)
    return json_response(await blocking(services_of(request).classification.classify, body))


async def invoke(request: Request) -> Response:
    """The model's own answer, byte for byte."""
    body = await validated_body(request, InvocationRequest)
    payload, content_type = await blocking(services_of(request).invocations.invoke, body)
    return Response(payload, media_type=content_type)
