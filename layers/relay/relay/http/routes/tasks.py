"""`POST /v1/rerank`, `POST /v1/classification` and `POST /v1/invocations`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from relay.http.json_route import JSONBodyRoute
from relay.http.security import require_key, services_of
from relay.protocol.classification import ClassificationRequest, ClassificationResponse, InvocationRequest
from relay.protocol.rerank import RerankRequest, RerankResponse

router = APIRouter(dependencies=[Depends(require_key)], route_class=JSONBodyRoute)


@router.post("/v1/rerank", response_model=RerankResponse, response_model_exclude_none=True)
async def rerank(body: RerankRequest, request: Request) -> RerankResponse:
    return await run_in_threadpool(services_of(request).rerank.rerank, body)


@router.post("/v1/classification", response_model=ClassificationResponse, response_model_exclude_none=True)
async def classify(body: ClassificationRequest, request: Request) -> ClassificationResponse:
    return await run_in_threadpool(services_of(request).classification.classify, body)


@router.post("/v1/invocations")
async def invoke(body: InvocationRequest, request: Request) -> Response:
    """The model's own answer, byte for byte."""
    payload, content_type = await run_in_threadpool(services_of(request).invocations.invoke, body)
    return Response(payload, media_type=content_type)
