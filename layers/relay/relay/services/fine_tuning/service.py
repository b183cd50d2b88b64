"""OpenAI fine-tuning jobs as Relay training jobs: create, list, retrieve, cancel, events, checkpoints.

Each key fine-tunes in a default project of its own (created on first use, owned by the key, so
the control plane shows the same jobs to the same key). The job's status is always the training
job's, through `status.OPENAI_STATUS`; cancelling here is cancelling it there.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from relay.catalogue import BaseModelSpec, base_model
from relay.errors import BadRequestError, ConflictError, RelayError
from relay.protocol.fine_tuning import (
    MAX_SEED,
    CreateFineTuningJobRequest,
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobEvent,
)
from relay.protocol.training import CreateGRPOTrainingJobRequest, CreateTrainingJobRequest
from relay.services.fine_tuning import views
from relay.services.fine_tuning.files import TrainingFiles
from relay.services.fine_tuning.hyperparameters import plan
from relay.services.fine_tuning.models import (
    FineTuningRecord,
    JobError,
    is_job_id,
    new_job_id,
    parse_fine_tuned,
)
from relay.services.fine_tuning.repository import FineTuningRepository, job_not_found
from relay.services.fine_tuning.results import ResultFiles
from relay.services.keys.access import owner_of
from relay.services.keys.models import Principal
from relay.services.layout import PROJECT_PREFIX
from relay.services.projects.models import Project
from relay.services.training import status as st
from relay.services.training.models import TrainingJob
from relay.services.training.service import TrainingService, idempotent_job_id

MAX_LIMIT = 100
T = TypeVar("T", FineTuningJob, FineTuningJobEvent, FineTuningJobCheckpoint)


class Projects(Protocol):
    def get(self, project_id: str) -> Project | None: ...
    def create(self, project: Project) -> None: ...


def default_project_id(owner: str) -> str:
    """The key's fine-tuning project: derived from the key id, so finding it costs one read."""
    return PROJECT_PREFIX + hashlib.sha256(f"fine-tuning\n{owner}".encode()).hexdigest()[:16]


def page(items: list[T], after: str | None, limit: int) -> tuple[list[T], bool]:
    """OpenAI's cursor paging over a newest-first list: the items after the one with id `after`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequestError(f"limit must be between 1 and {MAX_LIMIT}", param="limit")
    if after is not None:
        ids = [item.id for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    return items[:limit], len(items) > limit


@dataclass(frozen=True)
class Source:
    """The base model, and for an `ft:` model the training job and checkpoint to continue from."""

    spec: BaseModelSpec
    job_id: str | None = None
    checkpoint: int | None = None


class FineTuningService:
    def __init__(
        self,
        records: FineTuningRepository,
        training: TrainingService,
        projects: Projects,
        files: TrainingFiles,
        results: ResultFiles,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._records = records
        self._training = training
        self._projects = projects
        self._files = files
        self._results = results
        self._clock = clock

    # --- creating ---

    def create(self, principal: Principal, request: CreateFineTuningJobRequest) -> FineTuningJob:
        source = self._source(principal, request.model)
        seed = request.seed if request.seed is not None else secrets.randbelow(MAX_SEED)
        training_plan = plan(request, source.spec, seed)
        # Every check that can answer 400 runs before anything is written.
        self._files.check(principal, request.training_file, "training_file")
        if request.validation_file is not None:
            if request.validation_file == request.training_file:
                raise BadRequestError(
                    "validation_file must differ from training_file", param="validation_file"
                )
            self._files.check(principal, request.validation_file, "validation_file")
        owner, now = owner_of(principal), int(self._clock())
        project_id = self._default_project(owner, now)
        job_id = new_job_id()
        record = FineTuningRecord(
            id=job_id,
            owner=owner,
            project_id=project_id,
            model=request.model,
            base_model=source.spec.name,
            created_at=now,
            training_file=request.training_file,
            validation_file=request.validation_file,
            seed=seed,
            hyperparameters=training_plan.hyperparameters,
            suffix=request.suffix,
            metadata=request.metadata,
            method=training_plan.method,
            grader=training_plan.grader,
            training_job_id=idempotent_job_id(project_id, job_id),
        )
        field = training_plan.reward.reference_field if training_plan.reward else None
        train = self._files.import_file(principal, project_id, request.training_file, "training_file", field)
        test = None
        if train.error is None and request.validation_file is not None:
            test = self._files.import_file(
                principal, project_id, request.validation_file, "validation_file", field
            )
        refusal = train.error or (test.error if test else None)
        if refusal is not None:
            refused = replace(record, training_job_id=None, error=refusal, finished_at=now)
            self._records.create(refused)
            return views.job_object(refused, None, now)
        assert train.dataset is not None
        self._records.create(record)
        fields: dict[str, Any] = {
            "base_model_option": "fine-tuned" if source.job_id else "pre-trained",
            "base_model": source.job_id or source.spec.name,
            "checkpoint": source.checkpoint,
            "train_dataset_id": train.dataset.id,
            "test_dataset_id": test.dataset.id if test and test.dataset else None,
            "name": job_id,
            "description": f"OpenAI fine-tuning job {job_id}",
            "parameters": training_plan.parameters,
        }
        reward = training_plan.reward
        body = (
            CreateGRPOTrainingJobRequest.model_validate(
                {**fields, "test_functions": [reward.function], "reward": {reward.function: 1.0}}
            )
            if reward
            else CreateTrainingJobRequest.model_validate(fields)
        )
        try:
            # The OpenAI job id is the idempotency key: the training job's id follows from it.
            job = self._training.create(project_id, body, principal, idempotency_key=job_id)
        except RelayError as exc:
            if self._training_job(record) is None:  # refused before it was stored: say so on the job
                failure = JobError(code="training_not_started", message=exc.message, param=exc.param)
                self._records.update(owner, job_id, error=failure, finished_at=int(self._clock()))
            raise
        return views.job_object(record, job, now)

    def _source(self, principal: Principal, model: str) -> Source:
        if model.startswith("ft:"):
            ref = parse_fine_tuned(model)
            record = self._records.get(owner_of(principal), ref.job_id) if ref else None
            job = self._training_job(record) if record else None
            if record is None or job is None or job.status != st.SUCCESS:
                raise BadRequestError(
                    f"model '{model}' is not a succeeded fine-tuned model of this key", param="model"
                )
            numbers = [c.checkpoint for c in self._training.jobs.checkpoints(record.project_id, job.id)]
            step = ref.step if ref and ref.step is not None else max(numbers, default=None)
            if step is None or step not in numbers:
                raise BadRequestError(f"model '{model}' names no checkpoint of its job", param="model")
            spec = base_model(record.base_model)
            if spec is None:
                raise BadRequestError(
                    f"base model {record.base_model} is no longer in the catalogue", param="model"
                )
            return Source(spec, job.id, step)
        spec = base_model(model)
        if spec is None or "text-generation" not in spec.task_types or "SFT" not in spec.training_techniques:
            raise BadRequestError(
                f"model '{model}' cannot be fine-tuned here; GET /v1/models lists the base models "
                "(support_serverless false, a parameter_template) that can",
                param="model",
                code="model_not_available",
            )
        return Source(spec)

    def _default_project(self, owner: str, now: int) -> str:
        project_id = default_project_id(owner)
        if self._projects.get(project_id) is None:
            with contextlib.suppress(ConflictError):  # a concurrent create made it
                self._projects.create(
                    Project(project_id, f"OpenAI fine-tuning ({owner})", now, now, owner=owner)
                )
        return project_id

    # --- reading ---

    def _record(self, principal: Principal, job_id: str) -> FineTuningRecord:
        record = self._records.get(owner_of(principal), job_id) if is_job_id(job_id) else None
        if record is None:
            raise job_not_found(job_id)
        return record

    def _training_job(self, record: FineTuningRecord) -> TrainingJob | None:
        if record.training_job_id is None:
            return None
        return self._training.jobs.get(record.project_id, record.training_job_id)

    def _view(self, record: FineTuningRecord) -> FineTuningJob:
        job = self._training_job(record)
        if job is not None and job.status == st.SUCCESS and record.result_file is None:
            file_id = self._results.write(record, job)
            record = self._records.update(record.owner, record.id, result_file=file_id)
        return views.job_object(record, job, int(self._clock()))

    def get(self, principal: Principal, job_id: str) -> FineTuningJob:
        return self._view(self._record(principal, job_id))

    def list(
        self, principal: Principal, *, after: str | None, limit: int, metadata: dict[str, str]
    ) -> tuple[list[FineTuningJob], bool]:
        records = [
            r
            for r in self._records.list(owner_of(principal))
            if all((r.metadata or {}).get(k) == v for k, v in metadata.items())
        ]
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequestError(f"limit must be between 1 and {MAX_LIMIT}", param="limit")
        if after is not None:
            ids = [r.id for r in records]
            records = records[ids.index(after) + 1 :] if after in ids else []
        # Only the page's training jobs are read.
        return [self._view(r) for r in records[:limit]], len(records) > limit

    def cancel(self, principal: Principal, job_id: str) -> FineTuningJob:
        record = self._record(principal, job_id)
        job = self._training_job(record)
        if job is None or st.is_terminal(job.status):
            status = views.state_of(record, job, int(self._clock())).status
            raise BadRequestError(f"Fine-tuning job {job_id} is {status}; it cannot be cancelled")
        self._training.cancel(record.project_id, job.id, principal)
        return self._view(record)

    def events(
        self, principal: Principal, job_id: str, *, after: str | None, limit: int
    ) -> tuple[builtins.list[FineTuningJobEvent], bool]:
        record = self._record(principal, job_id)
        return page(views.events(record, self._training_job(record)), after, limit)

    def checkpoints(
        self, principal: Principal, job_id: str, *, after: str | None, limit: int
    ) -> tuple[builtins.list[FineTuningJobCheckpoint], bool]:
        record = self._record(principal, job_id)
        job = self._training_job(record)
        if job is None or job.status != st.SUCCESS:
            return page([], after, limit)  # checkpoints are registered when the job succeeds
        found = self._training.jobs.checkpoints(record.project_id, job.id)
        return page(views.checkpoint_objects(record, job, found), after, limit)

    def refuse(self, principal: Principal, job_id: str, action: str) -> None:
        """pause and resume: a 400 for an existing job (404 for none), since the pipeline cannot."""
        self._record(principal, job_id)
        raise BadRequestError(
            f"Fine-tuning jobs cannot be {action}d here: Relay's training pipeline stops a job only by "
            f"cancelling it (POST /v1/fine_tuning/jobs/{job_id}/cancel)",
            param="fine_tuning_job_id",
        )
