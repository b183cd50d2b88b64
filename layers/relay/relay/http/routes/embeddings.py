"""`POST /v1/embeddings` (OpenAI's API, plus the similarity form when `target` is set)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from relay.http.json_route import JSONBodyRoute
from relay.http.security import require_key, services_of
from relay.protocol.embeddings import EmbeddingRequest, EmbeddingResponse, SimilarityResponse

router = APIRouter(dependencies=[Depends(require_key)], route_class=JSONBodyRoute)


@router.post(
    "/v1/embeddings", response_model=EmbeddingResponse | SimilarityResponse, response_model_exclude_none=True
)
async def create_embeddings(
    body: EmbeddingRequest, request: Request
) -> EmbeddingResponse | SimilarityResponse:
    return await run_in_threadpool(services_of(request).embeddings.create, body)
