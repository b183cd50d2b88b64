"""Training jobs: `/v1/projects/{project_id}/training-jobs[...]` (create SFT/GRPO, list, get, cancel, delete)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from relay.http.security import require_key, services_of
from relay.protocol.training import CreateGRPOTrainingJobRequest, CreateTrainingJobRequest
from relay.services.auth import Principal

router = APIRouter(prefix="/v1/projects/{project_id}/training-jobs", dependencies=[Depends(require_key)])

# Optional: a client that retries a create with the same key gets the job the first call made.
IdempotencyKey = Header(default=None, alias="Idempotency-Key", max_length=255)


@router.post("", status_code=201)
async def create_training_job(
    project_id: str,
    body: CreateTrainingJobRequest,
    request: Request,
    principal: Principal = Depends(require_key),
    idempotency_key: str | None = IdempotencyKey,
) -> dict[str, Any]:
    service = services_of(request).training
    return await run_in_threadpool(service.create, project_id, body, principal.key_id, idempotency_key)


@router.post("/grpo", status_code=201)
async def create_grpo_training_job(
    project_id: str,
    body: CreateGRPOTrainingJobRequest,
    request: Request,
    principal: Principal = Depends(require_key),
    idempotency_key: str | None = IdempotencyKey,
) -> dict[str, Any]:
    service = services_of(request).training
    return await run_in_threadpool(service.create, project_id, body, principal.key_id, idempotency_key)


@router.get("")
async def list_training_jobs(project_id: str, request: Request) -> list[dict[str, Any]]:
    return await run_in_threadpool(services_of(request).training.list, project_id)


@router.get("/{training_job_id}")
async def get_training_job(project_id: str, training_job_id: str, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(services_of(request).training.get, project_id, training_job_id)


@router.delete("/{training_job_id}", status_code=204)
async def delete_training_job(project_id: str, training_job_id: str, request: Request) -> Response:
    await run_in_threadpool(services_of(request).training.delete, project_id, training_job_id)
    return Response(status_code=204)


@router.post("/{training_job_id}/cancel", status_code=204)
async def cancel_training_job(project_id: str, training_job_id: str, request: Request) -> Response:
    await run_in_threadpool(services_of(request).training.cancel, project_id, training_job_id)
    return Response(status_code=204)


@router.get("/{training_job_id}/checkpoints")
async def list_checkpoints(project_id: str, training_job_id: str, request: Request) -> list[dict[str, Any]]:
    return await run_in_threadpool(services_of(request).training.checkpoints, project_id, training_job_id)
