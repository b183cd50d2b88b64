"""`GET /v1/models` and `GET /v1/models/{id}` (ids may hold `/` and `:`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from relay.http.security import optional_key_for_models, services_of
from relay.protocol.models import Model, ModelList

router = APIRouter(dependencies=[Depends(optional_key_for_models)])


@router.get("/v1/models", response_model=ModelList)
async def list_models(request: Request) -> ModelList:
    models = await run_in_threadpool(services_of(request).models.all)
    return ModelList(data=models)


@router.get("/v1/models/{model_id:path}", response_model=Model)
async def get_model(model_id: str, request: Request) -> Model:
    return await run_in_threadpool(services_of(request).models.get, model_id)
