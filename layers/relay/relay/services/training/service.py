"""Training jobs as the API sees them: create (and start the pipeline), read, cancel, delete."""

from __future__ import annotations

import builtins
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from relay.backends.stepfunctions import execution_arn
from relay.errors import BadRequestError, ConflictError, RelayError, ServiceUnavailableError
from relay.observability import logger
from relay.protocol.training import CreateTrainingJobRequest
from relay.services.datasets.models import Dataset
from relay.services.keys.models import Principal
from relay.services.layout import TRAINING_JOB_PREFIX, new_id, training_prefix
from relay.services.projects.service import ProjectLookup, require_owned
from relay.services.training import status as st
from relay.services.training.models import Checkpoint, TrainingJob
from relay.services.training.repository import TrainingJobRepository, job_not_found
from relay.services.training.validation import DatasetLookup, resolve
from relay.settings import SettingsError


class PrefixStore(Protocol):
    def delete_prefix(self, prefix: str) -> int: ...


class Pipelines(Protocol):
    """The training state machine's executions (`relay.backends.stepfunctions.StepFunctions`)."""

    def start_execution(self, state_machine_arn: str, name: str, payload: dict[str, str]) -> bool: ...
    def stop_execution(self, arn: str, *, error: str, cause: str) -> bool: ...


class TrainingJobs(Protocol):
    """SageMaker's training jobs (`relay.backends.sagemaker.control.SageMakerControl`)."""

    def stop_training_job(self, name: str) -> bool: ...


@dataclass(frozen=True)
class TrainingJobView:
    """A job with the datasets it names, as the job detail shows them (None once deleted)."""

    job: TrainingJob
    train_dataset: Dataset | None
    test_dataset: Dataset | None


def idempotent_job_id(project_id: str, key: str) -> str:
    """The job id a client's Idempotency-Key maps to, so a retried create finds the same job."""
    return TRAINING_JOB_PREFIX + hashlib.sha256(f"{project_id}\n{key}".encode()).hexdigest()[:16]


class TrainingService:
    def __init__(
        self,
        jobs: TrainingJobRepository,
        datasets: DatasetLookup,
        projects: ProjectLookup,
        objects: PrefixStore,
        pipelines: Pipelines,
        sagemaker: TrainingJobs,
        state_machine_arn: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jobs = jobs
        self.datasets = datasets
        self.projects = projects
        self.objects = objects
        self._pipelines = pipelines
        self._sagemaker = sagemaker
        self._state_machine_arn = state_machine_arn
        self._clock = clock

    def _project(self, project_id: str, principal: Principal) -> None:
        require_owned(self.projects, project_id, principal)

    def _job(self, project_id: str, job_id: str, principal: Principal) -> TrainingJob:
        self._project(project_id, principal)
        job = self.jobs.get(project_id, job_id)
        if job is None:
            raise job_not_found(job_id)
        return job

    def create(
        self,
        project_id: str,
        request: CreateTrainingJobRequest,
        principal: Principal,
        idempotency_key: str | None = None,
    ) -> TrainingJob:
        if not self._state_machine_arn:
            raise SettingsError(
                "environment variable RELAY_STATE_MACHINE_ARN must be set to start training jobs"
            )
        self._project(project_id, principal)
        job_id = (
            idempotent_job_id(project_id, idempotency_key) if idempotency_key else new_id(TRAINING_JOB_PREFIX)
        )
        if idempotency_key and (existing := self.jobs.get(project_id, job_id)) is not None:
            return existing
        now = int(self._clock())
        try:
            resolved = resolve(
                request,
                project_id=project_id,
                job_id=job_id,
                created_by=principal.key_id,
                now=now,
                datasets=self.datasets,
                jobs=self.jobs,
            )
        except BadRequestError as exc:
            # The control-plane envelope has no `param`: the message itself must name the field.
            if exc.param and exc.param not in exc.message:
                raise BadRequestError(f"{exc.param}: {exc.message}", param=exc.param) from exc
            raise
        job = replace(resolved.job, execution_arn=execution_arn(self._state_machine_arn, job_id))
        try:
            self.jobs.create(job)
        except ConflictError:
            if idempotency_key and (existing := self.jobs.get(project_id, job_id)) is not None:
                return existing
            raise
        self._start(job)
        return job

    def _start(self, job: TrainingJob) -> None:
        # The execution name is the job id: a start retried with the same name and input finds
        # the running execution instead of starting a second one.
        try:
            self._pipelines.start_execution(
                self._state_machine_arn, job.id, {"project_id": job.project_id, "job_id": job.id}
            )
        except RelayError as exc:
            logger.warning(
                "could not start the training pipeline", extra={"job_id": job.id, "error": exc.message}
            )
            self.jobs.transition(
                job.project_id, job.id, st.FAILED, int(self._clock()), reason="The pipeline could not start"
            )
            raise ServiceUnavailableError("The training pipeline could not be started; try again") from exc

    def list(self, project_id: str, principal: Principal) -> list[TrainingJob]:
        self._project(project_id, principal)
        return sorted(self.jobs.list(project_id), key=lambda j: (j.created_at, j.id))

    def get(self, project_id: str, job_id: str, principal: Principal) -> TrainingJobView:
        job = self._job(project_id, job_id, principal)
        train = self.datasets.get(project_id, job.train_dataset_id) if job.train_dataset_id else None
        test = self.datasets.get(project_id, job.test_dataset_id) if job.test_dataset_id else None
        return TrainingJobView(job=job, train_dataset=train, test_dataset=test)

    def checkpoints(self, project_id: str, job_id: str, principal: Principal) -> builtins.list[Checkpoint]:
        self._job(project_id, job_id, principal)
        return sorted(self.jobs.checkpoints(project_id, job_id), key=lambda c: c.checkpoint)

    def cancel(self, project_id: str, job_id: str, principal: Principal) -> None:
        """Cancelled stays Cancelled (204 again); a job that already finished another way is a 409."""
        job = self._job(project_id, job_id, principal)
        if job.status == st.CANCELLED:
            return
        if st.is_terminal(job.status):
            raise ConflictError(
                f"Training job {job_id} already finished ({job.status}); there is nothing to cancel"
            )
        try:
            self.jobs.transition(
                project_id, job_id, st.CANCELLED, int(self._clock()), reason="Cancelled by the user"
            )
        except ConflictError:
            current = self.jobs.get(project_id, job_id)
            if current is not None and current.status == st.CANCELLED:
                return
            raise
        try:
            self._pipelines.stop_execution(
                job.execution_arn or execution_arn(self._state_machine_arn, job.id),
                error="Cancelled",
                cause="Cancelled by the user",
            )
        except RelayError as exc:
            raise ServiceUnavailableError(
                "The job is cancelled but its pipeline could not be stopped"
            ) from exc
        try:
            # SIGTERM, then SageMaker's grace period for the container to save.
            self._sagemaker.stop_training_job(job_id)
        except RelayError as exc:
            raise ServiceUnavailableError(
                "The job is cancelled but its training job could not be stopped"
            ) from exc

    def delete(self, project_id: str, job_id: str, principal: Principal) -> None:
        self._job(project_id, job_id, principal)
        self.jobs.delete(project_id, job_id)
        self.objects.delete_prefix(training_prefix(project_id, job_id))
