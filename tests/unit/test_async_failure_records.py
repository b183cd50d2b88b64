"""The pipeline worker's own OnFailure records: a failed verification ends invalid, anything else
is refused (so the record goes on to the dead-letter queue), over the in-memory fakes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relay.pipeline.context import PipelineStepError
from relay.pipeline.steps import run, steps
from tests.unit.test_dataset_verification import GOOD, OWNER, World

pytestmark = pytest.mark.unit


def failure_record(
    request: dict[str, Any], message: str = "Task timed out after 900.00 seconds"
) -> dict[str, Any]:
    """An SQS event carrying Lambda's invocation record of an asynchronous invoke that failed."""
    body = {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": request,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Sandbox.Timedout", "errorMessage": message},
    }
    return {"Records": [{"eventSource": "aws:sqs", "messageId": "1", "body": json.dumps(body)}]}


def test_a_verification_that_failed_every_retry_ends_invalid_with_its_reason() -> None:
    world = World()
    pending = world.start(GOOD)
    world.objects.objects[pending.object_key] = GOOD
    assert world.uploads.complete_upload(world.project, pending.id, OWNER).state == "verifying"
    (handed,) = world.worker.submitted
    pipeline: Any = type("P", (), {"dataset_verifier": world.verifier})()
    result = run(steps(lambda line: None), pipeline, failure_record(handed))
    assert result == {"settled": [{"dataset_id": pending.id, "state": "invalid"}]}
    invalid = world.datasets.get(world.project, pending.id, OWNER)
    assert invalid.state == "invalid" and invalid.error is not None
    assert invalid.error.code == "verification_failed" and "Task timed out" in invalid.error.message
    assert world.objects.objects == {}  # the upload cannot be completed any more: it is removed
    # A second delivery of the same record changes nothing.
    again = run(steps(lambda line: None), pipeline, failure_record(handed))
    assert again == {"settled": [{"dataset_id": pending.id, "state": "invalid"}]}


def test_a_failure_record_the_worker_cannot_settle_is_refused() -> None:
    world = World()
    pipeline: Any = type("P", (), {"dataset_verifier": world.verifier})()
    with pytest.raises(PipelineStepError, match="cannot settle a failed 'poll'"):
        run(steps(lambda line: None), pipeline, failure_record({"step": "poll", "job_id": "tr-1"}))
