"""The pipeline worker's dispatch table: `{"step": name, "project_id", "job_id", ...}` -> result.

Training steps are Step Functions tasks; `verify_dataset` (`{"step", "project_id", "dataset_id"}`)
arrives as an asynchronous invocation from the control plane. Two events have no `step`: an S3
`Object Created` event for `staging/` (the bucket's EventBridge rule) is `sweep_staged_upload`,
and SQS records from the worker's own OnFailure queue are `settle_async_failures`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from relay.errors import ConflictError, NotFoundError, RelayError
from relay.observability import logger
from relay.pipeline import monitor, prepare, testing
from relay.pipeline.context import Pipeline, PipelineStepError
from relay.services.datasets.verification import VERIFY_DATASET_STEP
from relay.services.training import status as st

Step = Callable[[Pipeline, dict[str, Any]], dict[str, Any]]
FINAL_STATUSES: tuple[st.TrainingStatus, ...] = (st.FAILED, st.TIMED_OUT, st.CANCELLED)
REASON_LIMIT = 1000


def failure_reason(error: dict[str, Any] | None) -> str:
    """A readable reason from a Catch's {Error, Cause}; Lambda errors carry JSON in Cause."""
    if not error:
        return "the training pipeline failed"
    name, cause = str(error.get("Error") or "Error"), str(error.get("Cause") or "")
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        cause = str(parsed["errorMessage"])
    elif cause and not cause.startswith(name):
        cause = f"{name}: {cause}"
    return (cause or name)[:REASON_LIMIT]


def finish(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    """Record a final Failed / TimedOut / Cancelled status; a job already final keeps its status."""
    requested = str(event.get("status") or st.FAILED)
    target = next((status for status in FINAL_STATUSES if status == requested), None)
    if target is None:
        raise PipelineStepError(f"finish cannot record {requested}")
    reason = failure_reason(event.get("error")) if target == st.FAILED else event.get("reason")
    job = pipeline.job(event)
    try:
        pipeline.jobs.transition(job.project_id, job.id, target, pipeline.now(), reason=reason)
        recorded = str(target)
    except (ConflictError, NotFoundError):
        current = pipeline.jobs.get(job.project_id, job.id)
        recorded = str(current.status) if current is not None else "None"
    if target == st.FAILED:
        # A failure after CreateTrainingJob (e.g. a broken poll) must not leave a GPU running.
        # Never created or already stopped is not an error (the adapter says so); a failed stop
        # must not hide the job's own failure, so it is logged and the step goes on.
        try:
            pipeline.sagemaker.stop_training_job(job.id)
        except RelayError as exc:
            logger.warning("could not stop the training job", extra={"job_id": job.id, "error": exc.message})
    logger.info("training job finished", extra={"job_id": job.id, "status": recorded, "reason": reason})
    return {"status": recorded, "reason": reason}


def verify_dataset(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    """A large presigned upload handed off by `complete`: verify it, record uploaded or invalid."""
    if pipeline.dataset_verifier is None:
        raise PipelineStepError("this worker has no dataset verifier to verify uploads with")
    project_id, dataset_id = str(event["project_id"]), str(event["dataset_id"])
    dataset = pipeline.dataset_verifier.verify_handed_off(project_id, dataset_id)
    state = dataset.state if dataset is not None else "deleted"
    logger.info(
        "dataset verified", extra={"project_id": project_id, "dataset_id": dataset_id, "state": state}
    )
    return {"project_id": project_id, "dataset_id": dataset_id, "state": state}


def sweep_staged_upload(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    """A presigned upload arrived: remove it if no record waits for it (a late POST after a delete)."""
    if pipeline.dataset_verifier is None:
        raise PipelineStepError("this worker has no dataset verifier to sweep uploads with")
    # Staged keys are made of [A-Za-z0-9._/-] only (safe_filename), so S3's URL-encoding is moot.
    key = str(event["detail"]["object"]["key"])
    return {"key": key, "removed": pipeline.dataset_verifier.staging.sweep(key)}


def settle_async_failures(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    """Invocation records of this worker's asynchronous invokes that failed every retry.

    A dataset verification ends `invalid` with the reason; a sweep is run once more (it is
    idempotent). Anything else raises, so the record goes on to the dead-letter queue.
    """
    if pipeline.dataset_verifier is None:
        raise PipelineStepError("this worker has no dataset verifier to settle failures with")
    settled: list[dict[str, Any]] = []
    for record in event["Records"]:
        failure = json.loads(record["body"])
        request = failure.get("requestPayload") or {}
        error = failure.get("responsePayload") or {}
        reason = f"{error.get('errorType') or 'Error'}: {error.get('errorMessage') or 'no message'}"[
            :REASON_LIMIT
        ]
        if request.get("step") == VERIFY_DATASET_STEP:
            project_id, dataset_id = str(request["project_id"]), str(request["dataset_id"])
            dataset = pipeline.dataset_verifier.fail_handed_off(project_id, dataset_id, reason)
            state = dataset.state if dataset is not None else "deleted"
            logger.warning(
                "dataset verification failed every retry",
                extra={"project_id": project_id, "dataset_id": dataset_id, "state": state, "reason": reason},
            )
            settled.append({"dataset_id": dataset_id, "state": state})
        elif _event_step(request) == SWEEP_STAGED_STEP:
            settled.append(sweep_staged_upload(pipeline, request))
        else:
            raise PipelineStepError(f"cannot settle a failed {request.get('step')!r} invoke: {reason}")
    return {"settled": settled}


def _event_step(event: dict[str, Any]) -> str | None:
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        return SWEEP_STAGED_STEP
    records = event.get("Records")
    if records and all(r.get("eventSource") == "aws:sqs" for r in records):
        return ASYNC_FAILURES_STEP
    return None


SWEEP_STAGED_STEP = "sweep_staged_upload"
ASYNC_FAILURES_STEP = "settle_async_failures"


def steps(parse_metric_line: monitor.MetricParser) -> dict[str, Step]:
    return {
        VERIFY_DATASET_STEP: verify_dataset,
        SWEEP_STAGED_STEP: sweep_staged_upload,
        ASYNC_FAILURES_STEP: settle_async_failures,
        "validate": prepare.validate,
        "prepare": prepare.prepare,
        "poll": partial(monitor.poll, parse=parse_metric_line),
        "test": testing.test,
        "register": testing.register,
        "finish": finish,
    }


def run(table: dict[str, Step], pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    name = event.get("step") or _event_step(event)
    step = table.get(str(name))
    if step is None:
        raise PipelineStepError(f"unknown pipeline step {name!r}; known: {sorted(table)}")
    return step(pipeline, event)
