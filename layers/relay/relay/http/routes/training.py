"""Training jobs: `/v1/projects/{project_id}/training-jobs[...]` (create SFT/GRPO, list, get, cancel, delete)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from relay.http.json_route import JSONBodyRoute
from relay.http.security import require_key, services_of
from relay.protocol.training import (
    CheckpointTestResults,
    CreateGRPOTrainingJobRequest,
    CreateTrainingJobRequest,
    TrainingDataset,
    TrainingJobCheckpoint,
    TrainingJobDetail,
    TrainingJobSummary,
    TrainingLossPoint,
)
from relay.services.datasets.models import Dataset
from relay.services.keys.models import Principal
from relay.services.training.downloads import CheckpointDownload
from relay.services.training.models import TrainingJob
from relay.services.training.service import TrainingJobView

router = APIRouter(
    prefix="/v1/projects/{project_id}/training-jobs",
    dependencies=[Depends(require_key)],
    route_class=JSONBodyRoute,
)

# Optional: a client that retries a create with the same key gets the job the first call made.
IdempotencyKey = Header(default=None, alias="Idempotency-Key", max_length=255)


def job_summary(job: TrainingJob) -> TrainingJobSummary:
    return TrainingJobSummary(
        id=job.id,
        name=job.name,
        training_technique=job.training_technique,
        task_type=job.task_type,
        base_model_option=job.base_model_option,
        base_model=job.base_model,
        base_fine_tuned_model=job.base_fine_tuned_model,
        base_fine_tuned_model_checkpoint=job.base_fine_tuned_model_checkpoint,
        train_dataset_name=job.train_dataset_name,
        test_functions=job.test_functions,
        reward=job.reward,
        status=job.status,
        progress=job.progress,
        created_by=job.created_by,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


def _dataset(dataset: Dataset | None) -> TrainingDataset | None:
    if dataset is None:
        return None
    return TrainingDataset(
        id=dataset.id, name=dataset.name, created_at=dataset.created_at, is_uploaded=dataset.is_uploaded
    )


def job_detail(view: TrainingJobView) -> TrainingJobDetail:
    job = view.job
    summary = job_summary(job).model_dump(exclude={"train_dataset_name"})
    return TrainingJobDetail(
        **summary,
        train_dataset=_dataset(view.train_dataset),
        test_dataset=_dataset(view.test_dataset),
        training_loss=[TrainingLossPoint(timestamp=p.timestamp, loss=p.loss) for p in job.training_loss],
        hyper_parameters=job.hyper_parameters,
        description=job.description,
        failure_reason=job.failure_reason,
    )


def checkpoint_view(download: CheckpointDownload) -> TrainingJobCheckpoint:
    checkpoint = download.checkpoint
    results = checkpoint.test_results
    return TrainingJobCheckpoint(
        checkpoint=checkpoint.checkpoint,
        model_download_url=download.url,
        model_files=download.files,
        test_results=(
            CheckpointTestResults(
                general_test_result=results.general_test_result,
                aggregated_test_result=results.aggregated_test_result,
            )
            if results
            else None
        ),
        created_at=checkpoint.created_at,
        updated_at=checkpoint.updated_at,
    )


@router.post("", status_code=201, response_model=TrainingJobSummary)
async def create_training_job(
    project_id: str,
    body: CreateTrainingJobRequest,
    request: Request,
    principal: Principal = Depends(require_key),
    idempotency_key: str | None = IdempotencyKey,
) -> TrainingJobSummary:
    service = services_of(request).training
    job = await run_in_threadpool(service.create, project_id, body, principal, idempotency_key)
    return job_summary(job)


@router.post("/grpo", status_code=201, response_model=TrainingJobSummary)
async def create_grpo_training_job(
    project_id: str,
    body: CreateGRPOTrainingJobRequest,
    request: Request,
    principal: Principal = Depends(require_key),
    idempotency_key: str | None = IdempotencyKey,
) -> TrainingJobSummary:
    service = services_of(request).training
    job = await run_in_threadpool(service.create, project_id, body, principal, idempotency_key)
    return job_summary(job)


@router.get("", response_model=list[TrainingJobSummary])
async def list_training_jobs(
    project_id: str, request: Request, principal: Principal = Depends(require_key)
) -> list[TrainingJobSummary]:
    jobs = await run_in_threadpool(services_of(request).training.list, project_id, principal)
    return [job_summary(job) for job in jobs]


@router.get("/{training_job_id}", response_model=TrainingJobDetail)
async def get_training_job(
    project_id: str, training_job_id: str, request: Request, principal: Principal = Depends(require_key)
) -> TrainingJobDetail:
    view = await run_in_threadpool(services_of(request).training.get, project_id, training_job_id, principal)
    return job_detail(view)


@router.delete("/{training_job_id}", status_code=204)
async def delete_training_job(
    project_id: str, training_job_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    await run_in_threadpool(services_of(request).training.delete, project_id, training_job_id, principal)
    return Response(status_code=204)


@router.post("/{training_job_id}/cancel", status_code=204)
async def cancel_training_job(
    project_id: str, training_job_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    await run_in_threadpool(services_of(request).training.cancel, project_id, training_job_id, principal)
    return Response(status_code=204)


@router.get("/{training_job_id}/checkpoints", response_model=list[TrainingJobCheckpoint])
async def list_checkpoints(
    project_id: str, training_job_id: str, request: Request, principal: Principal = Depends(require_key)
) -> list[TrainingJobCheckpoint]:
    services = services_of(request)

    def downloads() -> list[CheckpointDownload]:
        found = services.training.checkpoints(project_id, training_job_id, principal)
        return [services.checkpoint_downloads.links(c) for c in found]

    return [checkpoint_view(d) for d in await run_in_threadpool(downloads)]
