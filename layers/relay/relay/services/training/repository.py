"""The training-job storage port, and an in-memory fake that enforces the same transition table.

Every status change is conditional on `status.sources_of(target)`, so two writers racing (the
pipeline finishing, a user cancelling) cannot both win, and a finished job never changes again.
"""

from __future__ import annotations

import builtins
from dataclasses import fields, replace
from typing import Any, Protocol

from relay.errors import BadRequestError, ConflictError, NotFoundError
from relay.services.projects.repository import InMemoryProjectRepository, project_not_found
from relay.services.training import status as st
from relay.services.training.models import Checkpoint, LossPoint, StatusChange, TrainingJob

_JOB_FIELDS = frozenset(f.name for f in fields(TrainingJob))


def job_not_found(job_id: str) -> NotFoundError:
    return NotFoundError(f"No training job with id '{job_id}' in this project")


def cannot_become(job_id: str, current: str, target: str) -> ConflictError:
    return ConflictError(f"Training job {job_id} is {current}; it cannot become {target}")


def still_active(job_id: str, current: str) -> ConflictError:
    return ConflictError(f"Training job {job_id} is {current}; cancel it before deleting it")


def dataset_not_uploaded(dataset_id: str) -> BadRequestError:
    return BadRequestError(f"The dataset {dataset_id} is no longer uploaded", param="train_dataset_id")


class TrainingJobRepository(Protocol):
    def create(self, job: TrainingJob) -> None:
        """Insert a Pending job while its project is active and each of its datasets is uploaded.

        NotFoundError when the project is gone, BadRequestError when a dataset is not uploaded,
        ConflictError when the id is taken.
        """
        ...

    def get(self, project_id: str, job_id: str) -> TrainingJob | None: ...
    def list(self, project_id: str) -> builtins.list[TrainingJob]: ...
    def checkpoints(self, project_id: str, job_id: str) -> builtins.list[Checkpoint]: ...
    def transition(
        self,
        project_id: str,
        job_id: str,
        target: st.TrainingStatus,
        now: int,
        *,
        reason: str | None = None,
        **changes: Any,
    ) -> TrainingJob:
        """Move the job to `target` if the table allows it from its current status; returns the job.

        ConflictError when the current status does not allow it, NotFoundError when there is no job.
        """
        ...

    def record_progress(
        self, project_id: str, job_id: str, now: int, progress: int, losses: builtins.list[LossPoint]
    ) -> bool:
        """Set progress and append loss points while the job is Pending or Running; False otherwise."""
        ...

    def put_checkpoint(self, project_id: str, job_id: str, checkpoint: Checkpoint) -> None: ...
    def delete(self, project_id: str, job_id: str) -> None:
        """Delete a finished job and its checkpoints (ConflictError while it is still active)."""
        ...


def history_entry(target: st.TrainingStatus, now: int, reason: str | None) -> StatusChange:
    return StatusChange(status=target, at=now, reason=reason or None)


def failure_fields(target: st.TrainingStatus, reason: str | None, changes: dict[str, Any]) -> dict[str, Any]:
    """The fields a transition sets besides the status: a failure keeps its reason."""
    unknown = set(changes) - _JOB_FIELDS
    if unknown:
        raise ValueError(f"training jobs have no field(s) {sorted(unknown)}")
    if reason and target in (st.FAILED, st.TIMED_OUT):
        return {**changes, "failure_reason": reason}
    return dict(changes)


class InMemoryTrainingJobRepository:
    """Jobs in the project fake's partition (so dataset and project deletes see them)."""

    def __init__(self, projects: InMemoryProjectRepository) -> None:
        self._p = projects

    def create(self, job: TrainingJob) -> None:
        with self._p.lock:
            project = self._p.projects.get(job.project_id)
            if project is None or project.state != "active":
                raise project_not_found(job.project_id)
            for dataset_id in job.dataset_ids:
                dataset = self._p.datasets.get((job.project_id, dataset_id))
                if dataset is None or dataset.state != "uploaded":
                    raise dataset_not_uploaded(dataset_id)
            if (job.project_id, job.id) in self._p.training_jobs:
                raise ConflictError(f"Training job {job.id} already exists")
            self._p.training_jobs[(job.project_id, job.id)] = job

    def get(self, project_id: str, job_id: str) -> TrainingJob | None:
        return self._p.training_jobs.get((project_id, job_id))

    def list(self, project_id: str) -> builtins.list[TrainingJob]:
        jobs = [j for (pid, _), j in self._p.training_jobs.items() if pid == project_id]
        return sorted(jobs, key=lambda j: (j.created_at, j.id))

    def checkpoints(self, project_id: str, job_id: str) -> builtins.list[Checkpoint]:
        found = self._p.checkpoints.get((project_id, job_id), {})
        return [found[n] for n in sorted(found)]

    def transition(
        self,
        project_id: str,
        job_id: str,
        target: st.TrainingStatus,
        now: int,
        *,
        reason: str | None = None,
        **changes: Any,
    ) -> TrainingJob:
        if not st.sources_of(target):
            raise ValueError(f"nothing transitions to {target}")
        extra = failure_fields(target, reason, changes)
        with self._p.lock:
            job = self._p.training_jobs.get((project_id, job_id))
            if job is None:
                raise job_not_found(job_id)
            if not st.can_transition(job.status, target):
                raise cannot_become(job_id, job.status, target)
            moved = replace(
                job,
                status=target,
                updated_at=now,
                status_history=[*job.status_history, history_entry(target, now, reason)],
                **extra,
            )
            self._p.training_jobs[(project_id, job_id)] = moved
            return moved

    def record_progress(
        self, project_id: str, job_id: str, now: int, progress: int, losses: builtins.list[LossPoint]
    ) -> bool:
        with self._p.lock:
            job = self._p.training_jobs.get((project_id, job_id))
            if job is None or job.status not in st.PROGRESSING:
                return False
            self._p.training_jobs[(project_id, job_id)] = replace(
                job, progress=progress, updated_at=now, training_loss=[*job.training_loss, *losses]
            )
            return True

    def put_checkpoint(self, project_id: str, job_id: str, checkpoint: Checkpoint) -> None:
        with self._p.lock:
            self._p.checkpoints.setdefault((project_id, job_id), {})[checkpoint.checkpoint] = checkpoint

    def delete(self, project_id: str, job_id: str) -> None:
        with self._p.lock:
            job = self._p.training_jobs.get((project_id, job_id))
            if job is None:
                raise job_not_found(job_id)
            if not st.is_terminal(job.status):
                raise still_active(job_id, job.status)
            del self._p.training_jobs[(project_id, job_id)]
            self._p.checkpoints.pop((project_id, job_id), None)
