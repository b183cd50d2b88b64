"""The poll step: read the SageMaker job and its metric lines, record status, progress and loss.

Metric lines (`RELAY_METRIC {json}`, written by the training code) are read from the job's
CloudWatch log stream with FilterLogEvents; the step's result carries a cursor (the last event
time) into the next poll, so each line is read once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relay.backends.sagemaker.control import TrainingJobState
from relay.errors import ConflictError
from relay.pipeline.context import TRAINING_LOG_GROUP, Pipeline, PipelineStepError
from relay.services.training import status as st
from relay.services.training.models import LossPoint

MetricParser = Callable[[str], dict[str, Any] | None]

# SageMaker secondary statuses once the container runs the training code.
TRAINING_STARTED = frozenset({"Training", "Uploading", "Completed"})
TIME_LIMIT_STATUSES = frozenset({"MaxRuntimeExceeded", "MaxWaitTimeExceeded"})
IN_PROGRESS, COMPLETED, TIMED_OUT, STOPPED = "InProgress", "Completed", "TimedOut", "Stopped"


class TrainingJobFailedError(PipelineStepError):
    """SageMaker reports the training job Failed; the message is its FailureReason."""


def read_metrics(
    logs: Any, job_name: str, since_ms: int, parse: MetricParser
) -> tuple[list[dict[str, Any]], int]:
    """Metric records logged after `since_ms` by any instance of the job, and the new cursor."""
    records: list[dict[str, Any]] = []
    cursor = since_ms
    prefix = f"{job_name}/"
    kwargs: dict[str, Any] = {
        "logGroupName": TRAINING_LOG_GROUP,
        "logStreamNamePrefix": prefix,
        "startTime": since_ms + 1,
    }
    while True:
        try:
            page = logs.filter_log_events(**kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return records, cursor  # the log group appears with the first job's first line
        for event in page.get("events", []):
            # The request already asks for this prefix; checking again is free and keeps a
            # job from ever reading another's metrics (moto's FilterLogEvents ignores it).
            if not str(event.get("logStreamName", "")).startswith(prefix):
                continue
            cursor = max(cursor, int(event["timestamp"]))
            record = parse(str(event.get("message", "")))
            if record is not None:
                records.append(record)
        token = page.get("nextToken")
        if not token or not page.get("events"):
            return records, cursor
        kwargs["nextToken"] = token


def loss_points(records: list[dict[str, Any]], after: float) -> list[LossPoint]:
    """Training-loss points newer than `after` (evaluation lines have no `loss`), oldest first."""
    points = []
    for record in records:
        loss, timestamp = record.get("loss"), record.get("timestamp")
        if isinstance(loss, int | float) and isinstance(timestamp, int | float) and timestamp > after:
            step = record.get("step")
            points.append(
                LossPoint(
                    timestamp=float(timestamp),
                    loss=float(loss),
                    step=step if isinstance(step, int) and not isinstance(step, bool) else None,
                )
            )
    return sorted(points, key=lambda point: point.timestamp)


def outcome_of(described: TrainingJobState) -> str:
    status, secondary = described.status, described.secondary_status
    if status == "Completed":
        return COMPLETED
    if status == "Failed":
        raise TrainingJobFailedError(described.failure_reason or "the SageMaker training job failed")
    if status == "Stopped":
        return TIMED_OUT if secondary in TIME_LIMIT_STATUSES else STOPPED
    return IN_PROGRESS  # InProgress, Stopping


def poll(pipeline: Pipeline, event: dict[str, Any], parse: MetricParser) -> dict[str, Any]:
    job = pipeline.job(event)
    if st.is_terminal(job.status):
        raise PipelineStepError(f"training job {job.id} is already {job.status}")
    described = pipeline.sagemaker.describe_training_job(job.id)
    since = int((event.get("cursor") or {}).get("log_ms", 0))
    records, cursor = read_metrics(pipeline.logs, job.id, since, parse)
    outcome = outcome_of(described)
    started = described.secondary_status in TRAINING_STARTED or bool(records) or outcome == COMPLETED
    if job.status == st.PENDING and started:
        try:
            pipeline.jobs.transition(job.project_id, job.id, st.RUNNING, pipeline.now())
        except ConflictError as exc:
            raise PipelineStepError(f"training job {job.id} changed status: {exc.message}") from exc
    last = max((p.timestamp for p in job.training_loss), default=0.0)
    progress = max([job.progress] + [int(float(r["progress"])) for r in records])
    points = loss_points(records, last)
    if points or progress != job.progress:
        pipeline.jobs.record_progress(job.project_id, job.id, pipeline.now(), min(progress, 100), points)
    return {
        "outcome": outcome,
        "cursor": {"log_ms": cursor},
        "sagemaker_status": described.secondary_status or None,
    }
