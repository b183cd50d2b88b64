"""Deployments: `/v1/projects/{project_id}/deployments[...]` (create, list, get, delete, reactivate)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from relay.http.security import require_key, services_of
from relay.protocol.deployments import (
    ClassificationMetadata,
    CreateDeploymentRequest,
    DeploymentDetail,
    DeploymentSummary,
    ScheduleConfig,
)
from relay.services.deployments.models import Deployment
from relay.services.keys.models import Principal

router = APIRouter(prefix="/v1/projects/{project_id}/deployments", dependencies=[Depends(require_key)])


def deployment_summary(deployment: Deployment) -> DeploymentSummary:
    return DeploymentSummary(
        id=deployment.id,
        name=deployment.name,
        status=deployment.status,  # type: ignore[arg-type]
        created_at=deployment.created_at,
    )


def deployment_detail(deployment: Deployment, copies: int | None) -> DeploymentDetail:
    return DeploymentDetail(
        id=deployment.id,
        name=deployment.name,
        task_type=deployment.task_type,
        metadata=(
            ClassificationMetadata(labels=list(deployment.labels))
            if deployment.task_type == "classification"
            else None
        ),
        description=deployment.description,
        base_model=deployment.base_model,
        status=deployment.status,  # type: ignore[arg-type]
        training_id=deployment.training_id,
        checkpoint=deployment.checkpoint,
        created_at=deployment.created_at,
        updated_at=deployment.updated_at,
        engine_id=deployment.engine_id,
        inactive_timeout=deployment.inactive_timeout,
        schedule=ScheduleConfig.model_validate(deployment.schedule.as_dict())
        if deployment.schedule
        else None,
        failure_reason=deployment.failure_reason,
        copies=copies,
    )


@router.post("", status_code=201, response_model=DeploymentSummary)
async def create_deployment(
    project_id: str,
    body: CreateDeploymentRequest,
    request: Request,
    principal: Principal = Depends(require_key),
) -> DeploymentSummary:
    deployment = await run_in_threadpool(services_of(request).deployments.create, project_id, body, principal)
    return deployment_summary(deployment)


@router.get("", response_model=list[DeploymentSummary])
async def list_deployments(
    project_id: str, request: Request, principal: Principal = Depends(require_key)
) -> list[DeploymentSummary]:
    found = await run_in_threadpool(services_of(request).deployments.list, project_id, principal)
    return [deployment_summary(d) for d in found]


@router.get("/{deployment_id}", response_model=DeploymentDetail)
async def get_deployment(
    project_id: str, deployment_id: str, request: Request, principal: Principal = Depends(require_key)
) -> DeploymentDetail:
    found, copies = await run_in_threadpool(
        services_of(request).deployments.detail, project_id, deployment_id, principal
    )
    return deployment_detail(found, copies)


@router.delete("/{deployment_id}", status_code=204)
async def delete_deployment(
    project_id: str, deployment_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    await run_in_threadpool(services_of(request).deployments.delete, project_id, deployment_id, principal)
    return Response(status_code=204)


@router.post("/{deployment_id}/reactivate", status_code=204)
async def reactivate_deployment(
    project_id: str, deployment_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    await run_in_threadpool(services_of(request).deployments.reactivate, project_id, deployment_id, principal)
    return Response(status_code=204)
