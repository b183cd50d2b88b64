"""Training jobs as the API sees them: create (and start the pipeline), read, cancel, delete."""

from __future__ import annotations

import builtins
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.errors import BadRequestError, ConflictError, NotFoundError, ServiceUnavailableError
from relay.observability import logger
from relay.protocol.training import CreateTrainingJobRequest
from relay.services.control.layout import TRAINING_JOB_PREFIX, TRAINING_JOB_SUMMARY_FIELDS, new_id
from relay.services.training import status as st
from relay.services.training.repository import DynamoDBTrainingJobRepository
from relay.services.training.validation import DatasetLookup, resolve
from relay.settings import SettingsError

DETAIL_EXTRA_FIELDS = ("description", "training_loss", "hyper_parameters", "failure_reason")
CHECKPOINT_FIELDS = ("checkpoint", "model_download_url", "test_results", "created_at", "updated_at")


def training_prefix(project_id: str, job_id: str) -> str:
    """Where a job's data splits, checkpoints and test results live in the bucket."""
    return f"projects/{project_id}/training/{job_id}/"


def idempotent_job_id(project_id: str, key: str) -> str:
    """The job id a client's Idempotency-Key maps to, so a retried create finds the same job."""
    return TRAINING_JOB_PREFIX + hashlib.sha256(f"{project_id}\n{key}".encode()).hexdigest()[:16]


def summary(job: dict[str, Any]) -> dict[str, Any]:
    return {name: job.get(name) for name in TRAINING_JOB_SUMMARY_FIELDS}


class TrainingService:
    def __init__(
        self,
        jobs: DynamoDBTrainingJobRepository,
        datasets: DatasetLookup,
        projects: Any,
        objects: Any,
        stepfunctions: Callable[[], Any],
        sagemaker: Callable[[], Any],
        state_machine_arn: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jobs = jobs
        self.datasets = datasets
        self.projects = projects
        self.objects = objects
        self._sfn = stepfunctions
        self._sagemaker = sagemaker
        self._state_machine_arn = state_machine_arn
        self._clock = clock

    def _project(self, project_id: str) -> None:
        if self.projects.get(project_id) is None:
            raise NotFoundError(f"No project with id '{project_id}'")

    def _job(self, project_id: str, job_id: str) -> dict[str, Any]:
        self._project(project_id)
        job = self.jobs.get(project_id, job_id)
        if job is None:
            raise NotFoundError(f"No training job with id '{job_id}' in this project")
        return job

    def _execution_arn(self, job_id: str) -> str:
        # arn:aws:states:<region>:<account>:stateMachine:<name> -> ...:execution:<name>:<job id>
        prefix, _, name = self._state_machine_arn.rpartition(":stateMachine:")
        return f"{prefix}:execution:{name}:{job_id}"

    def create(
        self,
        project_id: str,
        request: CreateTrainingJobRequest,
        created_by: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        if not self._state_machine_arn:
            raise SettingsError(
                "environment variable RELAY_STATE_MACHINE_ARN must be set to start training jobs"
            )
        self._project(project_id)
        job_id = (
            idempotent_job_id(project_id, idempotency_key) if idempotency_key else new_id(TRAINING_JOB_PREFIX)
        )
        if idempotency_key and (existing := self.jobs.get(project_id, job_id)) is not None:
            return summary(existing)
        now = int(self._clock())
        try:
            resolved = resolve(
                request,
                project_id=project_id,
                job_id=job_id,
                created_by=created_by,
                now=now,
                datasets=self.datasets,
                jobs=self.jobs,
            )
        except BadRequestError as exc:
            # The control-plane envelope has no `param`: the message itself must name the field.
            if exc.param and exc.param not in exc.message:
                raise BadRequestError(f"{exc.param}: {exc.message}", param=exc.param) from exc
            raise
        job = {**resolved.job, "execution_arn": self._execution_arn(job_id)}
        try:
            self.jobs.create(job, resolved.dataset_ids)
        except ConflictError:
            if idempotency_key and (existing := self.jobs.get(project_id, job_id)) is not None:
                return summary(existing)
            raise
        self._start(job)
        return summary(job)

    def _start(self, job: dict[str, Any]) -> None:
        # The execution name is the job id: StartExecution retried with the same name and input
        # returns the running execution instead of starting a second one.
        try:
            self._sfn().start_execution(
                stateMachineArn=self._state_machine_arn,
                name=job["id"],
                input=json.dumps({"project_id": job["project_id"], "job_id": job["id"]}),
            )
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                return
            logger.warning(
                "could not start the training pipeline", extra={"job_id": job["id"], "error": str(exc)}
            )
            self.jobs.transition(
                job["project_id"],
                job["id"],
                st.FAILED,
                int(self._clock()),
                reason="The pipeline could not start",
            )
            raise ServiceUnavailableError("The training pipeline could not be started; try again") from exc

    def list(self, project_id: str) -> list[dict[str, Any]]:
        self._project(project_id)
        jobs = sorted(self.jobs.list(project_id), key=lambda j: (j.get("created_at", 0), j["id"]))
        return [summary(job) for job in jobs]

    def get(self, project_id: str, job_id: str) -> dict[str, Any]:
        job = self._job(project_id, job_id)
        detail = summary(job)
        detail.pop("train_dataset_name", None)
        for field, dataset_id in (
            ("train_dataset", job.get("train_dataset_id")),
            ("test_dataset", job.get("test_dataset_id")),
        ):
            dataset = self.datasets.get(project_id, dataset_id) if dataset_id else None
            detail[field] = (
                {
                    "id": dataset.id,
                    "name": dataset.name,
                    "created_at": dataset.created_at,
                    "is_uploaded": dataset.is_uploaded,
                }
                if dataset
                else None
            )
        for field in DETAIL_EXTRA_FIELDS:
            detail[field] = job.get(field)
        # DynamoDB numbers come back as int when whole; the series is floats, as the spec shows it.
        detail["training_loss"] = [
            {"timestamp": float(p["timestamp"]), "loss": float(p["loss"])}
            for p in detail["training_loss"] or []
        ]
        detail["hyper_parameters"] = detail["hyper_parameters"] or {}
        return detail

    def checkpoints(self, project_id: str, job_id: str) -> builtins.list[dict[str, Any]]:
        self._job(project_id, job_id)
        found = sorted(self.jobs.checkpoints(project_id, job_id), key=lambda c: int(c["checkpoint"]))
        return [{name: checkpoint.get(name) for name in CHECKPOINT_FIELDS} for checkpoint in found]

    def cancel(self, project_id: str, job_id: str) -> None:
        """Cancelled stays Cancelled (204 again); a job that already finished another way is a 409."""
        job = self._job(project_id, job_id)
        if job["status"] == st.CANCELLED:
            return
        if st.is_terminal(job["status"]):
            raise ConflictError(
                f"Training job {job_id} already finished ({job['status']}); there is nothing to cancel"
            )
        try:
            self.jobs.transition(
                project_id, job_id, st.CANCELLED, int(self._clock()), reason="Cancelled by the user"
            )
        except ConflictError:
            current = self.jobs.get(project_id, job_id) or {}
            if current.get("status") == st.CANCELLED:
                return
            raise
        self._stop_execution(job)
        self._stop_training_job(job_id)

    def _stop_execution(self, job: dict[str, Any]) -> None:
        try:
            self._sfn().stop_execution(
                executionArn=job.get("execution_arn") or self._execution_arn(job["id"]),
                error="Cancelled",
                cause="Cancelled by the user",
            )
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) not in ("ExecutionDoesNotExist", "ValidationException"):
                raise ServiceUnavailableError(
                    "The job is cancelled but its pipeline could not be stopped"
                ) from exc

    def _stop_training_job(self, job_id: str) -> None:
        # StopTrainingJob sends SIGTERM and gives the container SageMaker's grace period to save.
        try:
            self._sagemaker().stop_training_job(TrainingJobName=job_id)
        except (ClientError, BotoCoreError) as exc:
            # No training job yet, or it already stopped: nothing is running on a GPU for this job.
            if error_code(exc) not in ("ValidationException", "ResourceNotFound"):
                raise ServiceUnavailableError(
                    "The job is cancelled but its training job could not be stopped"
                ) from exc

    def delete(self, project_id: str, job_id: str) -> None:
        self._job(project_id, job_id)
        self.jobs.delete(project_id, job_id)
        self.objects.delete_prefix(training_prefix(project_id, job_id))
