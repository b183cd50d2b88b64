"""A training request checked against the catalogue, the project's datasets and earlier jobs.

The result is the job record to store, with hyperparameters resolved.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, Protocol

from relay.catalogue import BaseModelSpec, resolve_base_model, validate_training_parameters
from relay.errors import BadRequestError
from relay.protocol.training import CreateGRPOTrainingJobRequest, CreateTrainingJobRequest, TrainingTechnique
from relay.services.datasets.models import Dataset
from relay.services.datasets.validation import DatasetFormat
from relay.services.training import status as st
from relay.services.training.models import Checkpoint, StatusChange, TrainingJob

# Held out for testing when test functions are chosen but neither a test dataset nor a ratio is.
DEFAULT_TEST_SPLIT_PERCENT = 10.0


class DatasetLookup(Protocol):
    def get(self, project_id: str, dataset_id: str) -> Dataset | None: ...


class JobLookup(Protocol):
    def get(self, project_id: str, job_id: str) -> TrainingJob | None: ...
    def list(self, project_id: str) -> list[TrainingJob]: ...
    def checkpoints(self, project_id: str, job_id: str) -> builtins.list[Checkpoint]: ...


@dataclass(frozen=True)
class Resolved:
    spec: BaseModelSpec
    job: TrainingJob


# Which dataset formats (services/datasets/validation.py) each kind of job can train on.
# GRPO needs a prompt and an expected answer to score, so chat transcripts do not fit.
TASK_FORMATS: dict[tuple[str, str], tuple[DatasetFormat, ...]] = {
    ("SFT", "text-generation"): ("chat", "prompt_completion"),
    ("GRPO", "text-generation"): ("prompt_completion",),
    ("SFT", "classification"): ("classification",),
    ("SFT", "regression"): ("regression",),
    ("SFT", "embedding"): ("pairs",),
}


def _fits_task(dataset: Dataset, technique: str, task_type: str, field: str) -> None:
    allowed = TASK_FORMATS.get((technique, task_type))
    if allowed is None:
        raise BadRequestError(f"{technique} does not train {task_type} models", param="task_type")
    if dataset.format not in allowed:
        raise BadRequestError(
            f"{field}: dataset '{dataset.id}' holds {dataset.format} rows; a {technique} {task_type} "
            f"job needs {' or '.join(allowed)} rows",
            param=field,
        )


def _uploaded(datasets: DatasetLookup, project_id: str, dataset_id: str, field: str) -> Dataset:
    dataset = datasets.get(project_id, dataset_id)
    if dataset is None:
        raise BadRequestError(f"{field}: no dataset '{dataset_id}' in this project", param=field)
    if dataset.state != "uploaded" or not dataset.is_uploaded:
        raise BadRequestError(f"{field}: dataset '{dataset_id}' has not finished uploading", param=field)
    return dataset


def _source_job(
    jobs: JobLookup, project_id: str, request: CreateTrainingJobRequest
) -> tuple[TrainingJob, int]:
    """The finished job and checkpoint a `fine-tuned` request starts from (by job id or name)."""
    job = jobs.get(project_id, request.base_model) if request.base_model.startswith("tr-") else None
    if job is None:
        named = [j for j in jobs.list(project_id) if j.name == request.base_model]
        job = named[0] if len(named) == 1 else None
    if job is None:
        raise BadRequestError(
            f"base_model: no training job '{request.base_model}' in this project to continue from",
            param="base_model",
        )
    if job.status != st.SUCCESS:
        raise BadRequestError(
            f"base_model: training job '{job.id}' is {job.status}, not Success", param="base_model"
        )
    numbers = sorted(c.checkpoint for c in jobs.checkpoints(project_id, job.id))
    assert request.checkpoint is not None  # the request model requires it for fine-tuned
    if request.checkpoint not in numbers:
        raise BadRequestError(
            f"checkpoint: training job '{job.id}' has no checkpoint {request.checkpoint} (it has {numbers})",
            param="checkpoint",
        )
    return job, request.checkpoint


def resolve(
    request: CreateTrainingJobRequest,
    *,
    project_id: str,
    job_id: str,
    created_by: str,
    now: int,
    datasets: DatasetLookup,
    jobs: JobLookup,
) -> Resolved:
    technique: TrainingTechnique = "GRPO" if isinstance(request, CreateGRPOTrainingJobRequest) else "SFT"
    source: TrainingJob | None = None
    checkpoint: int | None = None
    if request.base_model_option == "fine-tuned":
        source, checkpoint = _source_job(jobs, project_id, request)
        if source.task_type != request.task_type:
            raise BadRequestError(
                f"task_type: checkpoint of a {source.task_type} job cannot train {request.task_type}",
                param="task_type",
            )
        spec = resolve_base_model(source.base_model)
    else:
        spec = resolve_base_model(request.base_model)
    hyper_parameters: dict[str, Any] = dict(
        validate_training_parameters(
            spec.name, task_type=request.task_type, technique=technique, parameters=request.parameters
        )
    )
    train = _uploaded(datasets, project_id, request.train_dataset_id, "train_dataset_id")
    _fits_task(train, technique, request.task_type, "train_dataset_id")
    test = None
    if request.test_dataset_id:
        if request.test_dataset_id == request.train_dataset_id:
            raise BadRequestError(
                "test_dataset_id must differ from train_dataset_id", param="test_dataset_id"
            )
        test = _uploaded(datasets, project_id, request.test_dataset_id, "test_dataset_id")
        _fits_task(test, technique, request.task_type, "test_dataset_id")
    split = request.train_test_split_ratio
    if split is None and test is None and request.test_functions:
        split = DEFAULT_TEST_SPLIT_PERCENT
    if split is not None:
        hyper_parameters["train_test_split_ratio"] = split
    if request.rebalance_data is not None:
        hyper_parameters["rebalance_data"] = dict(request.rebalance_data)
    reward = dict(request.reward) if isinstance(request, CreateGRPOTrainingJobRequest) else None
    job = TrainingJob(
        id=job_id,
        project_id=project_id,
        name=request.name or job_id,
        description=request.description,
        training_technique=technique,
        task_type=request.task_type,
        base_model_option=request.base_model_option,
        base_model=spec.name,
        base_fine_tuned_model=source.id if source else None,
        base_fine_tuned_model_checkpoint=checkpoint,
        train_dataset_id=train.id,
        train_dataset_name=train.name,
        test_dataset_id=test.id if test else None,
        test_dataset_name=test.name if test else None,
        test_functions=list(request.test_functions),
        reward=reward,
        hyper_parameters=hyper_parameters,
        status=st.PENDING,
        status_history=[StatusChange(status=st.PENDING, at=now)],
        progress=0,
        training_loss=[],
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    return Resolved(spec=spec, job=job)
