"""`/v1/fine_tuning/jobs[...]`: OpenAI's fine-tuning API on Relay's training pipeline.

create, list (`after`, `limit`, `metadata[k]=v`), retrieve, cancel, events and checkpoints
(`after`, `limit`); pause and resume answer 400, since the pipeline can only cancel a job.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from relay.errors import BadRequestError
from relay.http.bodies import json_body
from relay.http.security import require_key, services_of
from relay.protocol.fine_tuning import (
    CreateFineTuningJobRequest,
    FineTuningJob,
    FineTuningJobCheckpointList,
    FineTuningJobEventList,
    FineTuningJobList,
)
from relay.services.keys.models import Principal

router = APIRouter(prefix="/v1/fine_tuning/jobs", dependencies=[Depends(require_key)])


def _metadata_filter(request: Request) -> dict[str, str]:
    """`metadata[key]=value` query parameters (the SDK's encoding of a `metadata` dict)."""
    found = {}
    for name, value in request.query_params.multi_items():
        if name.startswith("metadata[") and name.endswith("]") and len(name) > len("metadata[]"):
            found[name[len("metadata[") : -1]] = value
        elif name.startswith("metadata"):
            raise BadRequestError("Filter on metadata as metadata[key]=value", param="metadata")
    return found


@router.post("", response_model=FineTuningJob)
async def create_job(request: Request, principal: Principal = Depends(require_key)) -> FineTuningJob:
    body = await json_body(request, CreateFineTuningJobRequest, required=True)
    return await run_in_threadpool(services_of(request).fine_tuning.create, principal, body)


@router.get("", response_model=FineTuningJobList)
async def list_jobs(
    request: Request,
    principal: Principal = Depends(require_key),
    after: str | None = None,
    limit: int = Query(20),
) -> FineTuningJobList:
    metadata = _metadata_filter(request)
    jobs, more = await run_in_threadpool(
        lambda: services_of(request).fine_tuning.list(principal, after=after, limit=limit, metadata=metadata)
    )
    return FineTuningJobList(data=jobs, has_more=more)


@router.get("/{job_id}", response_model=FineTuningJob)
async def retrieve_job(
    job_id: str, request: Request, principal: Principal = Depends(require_key)
) -> FineTuningJob:
    return await run_in_threadpool(services_of(request).fine_tuning.get, principal, job_id)


@router.post("/{job_id}/cancel", response_model=FineTuningJob)
async def cancel_job(
    job_id: str, request: Request, principal: Principal = Depends(require_key)
) -> FineTuningJob:
    return await run_in_threadpool(services_of(request).fine_tuning.cancel, principal, job_id)


@router.post("/{job_id}/pause")
async def pause_job(job_id: str, request: Request, principal: Principal = Depends(require_key)) -> None:
    await run_in_threadpool(services_of(request).fine_tuning.refuse, principal, job_id, "pause")


@router.post("/{job_id}/resume")
async def resume_job(job_id: str, request: Request, principal: Principal = Depends(require_key)) -> None:
    await run_in_threadpool(services_of(request).fine_tuning.refuse, principal, job_id, "resume")


@router.get("/{job_id}/events", response_model=FineTuningJobEventList)
async def list_events(
    job_id: str,
    request: Request,
    principal: Principal = Depends(require_key),
    after: str | None = None,
    limit: int = Query(20),
) -> FineTuningJobEventList:
    events, more = await run_in_threadpool(
        lambda: services_of(request).fine_tuning.events(principal, job_id, after=after, limit=limit)
    )
    return FineTuningJobEventList(data=events, has_more=more)


@router.get("/{job_id}/checkpoints", response_model=FineTuningJobCheckpointList)
async def list_checkpoints(
    job_id: str,
    request: Request,
    principal: Principal = Depends(require_key),
    after: str | None = None,
    limit: int = Query(10),
) -> FineTuningJobCheckpointList:
    found, more = await run_in_threadpool(
        lambda: services_of(request).fine_tuning.checkpoints(principal, job_id, after=after, limit=limit)
    )
    return FineTuningJobCheckpointList(
        data=found,
        first_id=found[0].id if found else None,
        last_id=found[-1].id if found else None,
        has_more=more,
    )
