"""Inference engines: `/v1/engines[...]` (create, list, get, delete, deploy, undeploy, reactivate, deactivate)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from relay.http.routes.deployments import deployment_summary
from relay.http.security import require_key, services_of
from relay.protocol.deployments import (
    CreateEngineRequest,
    DeploymentSummary,
    DeployOnEngineRequest,
    EngineDeployment,
    InferenceEngineDetail,
    InferenceEngineSummary,
    ResourceManagementConfig,
    UndeployRequest,
)
from relay.services.deployments.engines import EngineView, management_config
from relay.services.deployments.models import SERVER_TYPE
from relay.services.keys.models import Principal

router = APIRouter(prefix="/v1/engines", dependencies=[Depends(require_key)])


def engine_summary(view: EngineView) -> InferenceEngineSummary:
    engine = view.engine
    return InferenceEngineSummary(
        id=engine.id,
        name=engine.name,
        status=view.status,  # type: ignore[arg-type]
        base_model=engine.base_model,
        server_type=SERVER_TYPE,
        task_type=engine.task_type,
        deployment_counts=len(view.deployments),
        created_at=engine.created_at,
    )


def engine_detail(view: EngineView) -> InferenceEngineDetail:
    engine = view.engine
    management_type, config = management_config(engine)
    return InferenceEngineDetail(
        id=engine.id,
        name=engine.name,
        status=view.status,  # type: ignore[arg-type]
        base_model=engine.base_model,
        task_type=engine.task_type,
        server_type=SERVER_TYPE,
        deployments=[
            EngineDeployment(**deployment_summary(d).model_dump(), copies=view.copies.get(d.id))
            for d in view.deployments
        ],
        # An engine hosts its catalogue base model; fine-tuned checkpoints are its deployments.
        base_model_option="pre-trained",
        last_access_timestamp=engine.last_access_timestamp,
        resource_management_config=ResourceManagementConfig(
            management_type=management_type,  # type: ignore[arg-type]
            management_config=config,
        ),
        created_at=engine.created_at,
        instance_type=engine.instance_type,
    )


@router.post("", status_code=201, response_model=InferenceEngineSummary)
async def create_engine(
    body: CreateEngineRequest, request: Request, principal: Principal = Depends(require_key)
) -> InferenceEngineSummary:
    view = await run_in_threadpool(services_of(request).engines.create, body, principal)
    return engine_summary(view)


@router.get("", response_model=list[InferenceEngineSummary])
async def list_engines(
    request: Request,
    base_model: str | None = Query(default=None, max_length=256),
    task_type: str | None = Query(default=None, max_length=64),
    principal: Principal = Depends(require_key),
) -> list[InferenceEngineSummary]:
    views = await run_in_threadpool(services_of(request).engines.list, principal, base_model, task_type)
    return [engine_summary(v) for v in views]


@router.get("/{engine_id}", response_model=InferenceEngineDetail)
async def get_engine(
    engine_id: str, request: Request, principal: Principal = Depends(require_key)
) -> InferenceEngineDetail:
    view = await run_in_threadpool(services_of(request).engines.detail, engine_id, principal)
    return engine_detail(view)


@router.delete("/{engine_id}", status_code=204)
async def delete_engine(
    engine_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    await run_in_threadpool(services_of(request).engines.delete, engine_id, principal)
    return Response(status_code=204)


@router.post("/{engine_id}/deploy", status_code=201, response_model=DeploymentSummary)
async def deploy_on_engine(
    engine_id: str, body: DeployOnEngineRequest, request: Request, principal: Principal = Depends(require_key)
) -> DeploymentSummary:
    service = services_of(request).deployments
    deployment = await run_in_threadpool(service.deploy_on_engine, engine_id, body, principal)
    return deployment_summary(deployment)


@router.post("/{engine_id}/undeploy", status_code=204)
async def undeploy_from_engine(
    engine_id: str, body: UndeployRequest, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    await run_in_threadpool(services_of(request).engines.undeploy, engine_id, body.deployment_name, principal)
    return Response(status_code=204)


@router.post("/{engine_id}/reactivate", status_code=204)
async def reactivate_engine(
    engine_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    await run_in_threadpool(services_of(request).engines.reactivate, engine_id, principal)
    return Response(status_code=204)


@router.post("/{engine_id}/deactivate", status_code=204)
async def deactivate_engine(
    engine_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    await run_in_threadpool(services_of(request).engines.deactivate, engine_id, principal)
    return Response(status_code=204)
