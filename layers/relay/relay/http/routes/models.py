"""`GET /v1/models` and `GET /v1/models/{id}` (ids may hold `/` and `:`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from relay.errors import ModelNotFoundError, shown
from relay.http.security import optional_key_for_models, services_of
from relay.protocol.models import Model, ModelList
from relay.services.keys.models import Principal

router = APIRouter(dependencies=[Depends(optional_key_for_models)])


def _allowed(principal: Principal | None, model_id: str) -> bool:
    """A key with an allow-list sees only the models it may call."""
    return principal is None or principal.policy is None or principal.policy.allows(model_id)


@router.get("/v1/models", response_model=ModelList)
async def list_models(
    request: Request, principal: Principal | None = Depends(optional_key_for_models)
) -> ModelList:
    models = await run_in_threadpool(services_of(request).models.all)
    return ModelList(data=[m for m in models if _allowed(principal, m.id)])


@router.get("/v1/models/{model_id:path}", response_model=Model)
async def get_model(
    model_id: str, request: Request, principal: Principal | None = Depends(optional_key_for_models)
) -> Model:
    if not _allowed(principal, model_id):
        raise ModelNotFoundError(f"The model '{shown(model_id)}' does not exist", param="model")
    return await run_in_threadpool(services_of(request).models.get, model_id)
