"""`/v1/projects`: create, list, read (with datasets, training jobs, deployments) and delete."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from relay.http.bodies import json_body
from relay.http.routes.datasets import dataset_summary
from relay.http.routes.training import job_summary
from relay.http.security import require_key, services_of
from relay.protocol.control import CreateProjectRequest, ProjectDeployment, ProjectDetail, ProjectSummary
from relay.services.keys.models import Principal
from relay.services.projects.models import Project, ProjectContents

router = APIRouter(dependencies=[Depends(require_key)])


def project_summary(project: Project) -> ProjectSummary:
    return ProjectSummary(
        id=project.id, name=project.name, created_at=project.created_at, updated_at=project.updated_at
    )


def project_detail(contents: ProjectContents) -> ProjectDetail:
    project = contents.project
    return ProjectDetail(
        id=project.id,
        name=project.name,
        datasets=[dataset_summary(d) for d in contents.datasets],
        training_jobs=[job_summary(job) for job in contents.training_jobs],
        deployments=[
            ProjectDeployment(id=d.id, name=d.name, status=d.status, created_at=d.created_at)
            for d in contents.deployments
        ],
        created_at=project.created_at,
        updated_at=project.updated_at,
    )


@router.post("/v1/projects", status_code=201, response_model=ProjectSummary)
async def create_project(request: Request, principal: Principal = Depends(require_key)) -> ProjectSummary:
    # The spec makes the body optional: no body creates a project named after its id.
    body = await json_body(request, CreateProjectRequest, required=False)
    project = await run_in_threadpool(services_of(request).projects.create, body.name, principal)
    return project_summary(project)


@router.get("/v1/projects", response_model=list[ProjectSummary])
async def list_projects(
    request: Request, principal: Principal = Depends(require_key)
) -> list[ProjectSummary]:
    projects = await run_in_threadpool(services_of(request).projects.list, principal)
    return [project_summary(p) for p in projects]


# A child's unset fields are left out, as the spec's examples show them.
@router.get("/v1/projects/{project_id}", response_model=ProjectDetail, response_model_exclude_none=True)
async def get_project(
    project_id: str, request: Request, principal: Principal = Depends(require_key)
) -> ProjectDetail:
    contents = await run_in_threadpool(services_of(request).projects.detail, project_id, principal)
    return project_detail(contents)


@router.delete("/v1/projects/{project_id}", status_code=204)
async def delete_project(
    project_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    await run_in_threadpool(services_of(request).projects.delete, project_id, principal)
    return Response(status_code=204)
