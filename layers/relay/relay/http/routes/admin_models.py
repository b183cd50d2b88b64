"""`/v1/admin/models`: register SageMaker endpoints as models (admin key only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from relay.http.security import require_admin, services_of
from relay.protocol.registry import DeletedModel, RegisteredModel, RegisteredModelList, RegisterModelRequest

router = APIRouter(prefix="/v1/admin/models", dependencies=[Depends(require_admin)])


@router.post("", response_model=RegisteredModel, response_model_exclude_none=True, status_code=201)
async def register_model(body: RegisterModelRequest, request: Request) -> RegisteredModel:
    return await run_in_threadpool(services_of(request).model_registration.register, body)


@router.get("", response_model=RegisteredModelList, response_model_exclude_none=True)
async def list_models(request: Request) -> RegisteredModelList:
    return RegisteredModelList(data=await run_in_threadpool(services_of(request).model_registration.list))


@router.get("/{model_id:path}", response_model=RegisteredModel, response_model_exclude_none=True)
async def get_model(model_id: str, request: Request) -> RegisteredModel:
    return await run_in_threadpool(services_of(request).model_registration.get, model_id)


@router.delete("/{model_id:path}", response_model=DeletedModel)
async def delete_model(model_id: str, request: Request) -> DeletedModel:
    deleted = await run_in_threadpool(services_of(request).model_registration.delete, model_id)
    return DeletedModel(id=deleted)
