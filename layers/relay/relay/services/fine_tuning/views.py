"""A fine-tuning record and its training job as OpenAI's objects: the job, its events, checkpoints.

Pure functions. Events are derived, not stored: the record's creation and refusal, the training
job's status history and its loss points (the pipeline's `RELAY_METRIC` lines), each with a stable
id, so `after` pages through them as through stored events.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.protocol.fine_tuning import (
    CheckpointMetrics,
    FineTuningError,
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobEvent,
    FineTuningStatus,
    ResolvedHyperparameters,
    ResolvedMethod,
    ResolvedReinforcement,
    ResolvedSupervised,
)
from relay.services.fine_tuning import status as fst
from relay.services.fine_tuning.models import FineTuningRecord, JobError, derived_id
from relay.services.training import status as st
from relay.services.training.models import Checkpoint, LossPoint, TrainingJob

_MISSING = JobError(
    code="training_job_deleted", message="The Relay training job of this fine-tuning job was deleted"
)
_STATUS_MESSAGES: dict[str, tuple[str, str]] = {
    st.RUNNING: ("info", "Fine-tuning job started"),
    st.TESTING: ("info", "Training finished; testing and registering the checkpoints"),
    st.SUCCESS: ("info", "The job has successfully completed"),
    st.CANCELLED: ("info", "Fine-tuning job cancelled"),
}


@dataclass(frozen=True)
class JobState:
    status: FineTuningStatus
    error: JobError | None
    finished_at: int | None
    estimated_finish: int | None


def state_of(record: FineTuningRecord, job: TrainingJob | None, now: int) -> JobState:
    if job is None:
        return JobState("failed", record.error or _MISSING, record.finished_at, None)
    status = fst.openai_status(job.status)
    error = None
    if job.status in fst.ERROR_CODES:
        error = JobError(fst.ERROR_CODES[job.status], job.failure_reason or f"The training job {job.status}")
    finished = job.status_history[-1].at if st.is_terminal(job.status) and job.status_history else None
    return JobState(status, error, finished, _estimate(job, now))


def _estimate(job: TrainingJob, now: int) -> int | None:
    """When training should end at the pace so far (None until it reports progress)."""
    started = next((c.at for c in job.status_history if c.status == st.RUNNING), None)
    if job.status != st.RUNNING or started is None or job.progress <= 0:
        return None
    return started + int((now - started) * 100 / job.progress)


def job_object(record: FineTuningRecord, job: TrainingJob | None, now: int) -> FineTuningJob:
    state = state_of(record, job, now)
    hp = ResolvedHyperparameters(**record.hyperparameters)
    return FineTuningJob(
        id=record.id,
        created_at=record.created_at,
        error=FineTuningError(**vars(state.error)) if state.error else None,
        fine_tuned_model=record.fine_tuned_model if state.status == "succeeded" else None,
        finished_at=state.finished_at,
        hyperparameters=hp,
        model=record.model,
        organization_id=record.owner,
        result_files=[record.result_file] if record.result_file else [],
        seed=record.seed,
        status=state.status,
        training_file=record.training_file,
        validation_file=record.validation_file,
        estimated_finish=state.estimated_finish,
        metadata=record.metadata,
        method=(
            ResolvedMethod(
                type="reinforcement",
                reinforcement=ResolvedReinforcement(grader=record.grader or {}, hyperparameters=hp),
            )
            if record.method == "reinforcement"
            else ResolvedMethod(type="supervised", supervised=ResolvedSupervised(hyperparameters=hp))
        ),
        project_id=record.project_id,
        training_job_id=record.training_job_id,
    )


def _event(
    record: FineTuningRecord,
    key: str,
    at: int,
    level: str,
    message: str,
    data: dict[str, float] | None = None,
) -> FineTuningJobEvent:
    return FineTuningJobEvent(
        id=derived_id("ftevent-", record.id, key),
        created_at=at,
        level=level,  # type: ignore[arg-type]
        message=message,
        data=data,
        type="metrics" if data is not None else "message",
    )


def steps_of(points: list[LossPoint]) -> list[int]:
    """Each loss point's optimiser step; points recorded without one count from 1."""
    return [p.step if p.step is not None else i + 1 for i, p in enumerate(points)]


def events(record: FineTuningRecord, job: TrainingJob | None) -> list[FineTuningJobEvent]:
    """Every event of the job, newest first (OpenAI's order)."""
    found = [
        _event(record, "created", record.created_at, "info", f"Created fine-tuning job: {record.id}"),
        _event(
            record,
            "validating",
            record.created_at,
            "info",
            f"Validating training file: {record.training_file}",
        ),
    ]
    if record.error is not None:
        found.append(
            _event(record, "refused", record.finished_at or record.created_at, "error", record.error.message)
        )
    elif job is not None:
        found.append(
            _event(record, "queued", record.created_at, "info", "Files validated, moving job to queued state")
        )
        for index, change in enumerate(job.status_history):
            if change.status in _STATUS_MESSAGES:
                level, message = _STATUS_MESSAGES[change.status]
            elif change.status in fst.ERROR_CODES:
                level, message = (
                    "error",
                    f"Fine-tuning job failed: {change.reason or job.failure_reason or change.status}",
                )
            else:
                continue
            found.append(_event(record, f"status-{index}", change.at, level, message))
            if change.status == st.SUCCESS:
                found.append(
                    _event(
                        record,
                        "model",
                        change.at,
                        "info",
                        f"New fine-tuned model created: {record.fine_tuned_model}",
                    )
                )
        for step, point in zip(steps_of(job.training_loss), job.training_loss, strict=True):
            found.append(
                _event(
                    record,
                    f"step-{step}-{point.timestamp}",
                    int(point.timestamp),
                    "info",
                    f"Step {step}: training loss={point.loss:.4f}",
                    {"step": step, "train_loss": point.loss},
                )
            )
    # Stable within a second: creation first, so newest-first lists it last.
    ordered = list(enumerate(found))
    ordered.sort(key=lambda pair: (pair[1].created_at, pair[0]), reverse=True)
    return [event for _, event in ordered]


def checkpoint_objects(
    record: FineTuningRecord, job: TrainingJob, checkpoints: list[Checkpoint]
) -> list[FineTuningJobCheckpoint]:
    """The job's checkpoints, newest first, each with the last training loss at or before its step."""
    losses = list(zip(steps_of(job.training_loss), job.training_loss, strict=True))
    found = []
    for checkpoint in sorted(checkpoints, key=lambda c: c.checkpoint, reverse=True):
        before = [point.loss for step, point in losses if step <= checkpoint.checkpoint]
        found.append(
            FineTuningJobCheckpoint(
                id=derived_id("ftckpt-", record.id, checkpoint.checkpoint),
                created_at=checkpoint.created_at,
                fine_tuned_model_checkpoint=record.checkpoint_model(checkpoint.checkpoint),
                fine_tuning_job_id=record.id,
                metrics=CheckpointMetrics(
                    step=float(checkpoint.checkpoint), train_loss=before[-1] if before else None
                ),
                step_number=checkpoint.checkpoint,
            )
        )
    return found
