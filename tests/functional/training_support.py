"""Helpers for the training tests: a project with uploaded datasets, waiting on jobs, reading the table."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from relay.services.training.models import TrainingJob

SUMS = [{"prompt": f"what is {a} plus {b}", "completion": str(a + b)} for a in range(5) for b in range(3)]
FINAL = ("Success", "Failed", "TimedOut", "Cancelled")


def create_project(client: Any, auth: dict[str, str], name: str = "training") -> str:
    response = client.post("/v1/projects", json={"name": name}, headers=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def upload_dataset(
    client: Any, auth: dict[str, str], project_id: str, rows: list[dict[str, Any]], name: str = "sums"
) -> str:
    body = "".join(json.dumps(row) + "\n" for row in rows).encode()
    response = client.post(
        f"/v1/projects/{project_id}/datasets",
        files={"file": (f"{name}.jsonl", body, "application/x-ndjson")},
        data={"name": name},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def wait_for(
    client: Any,
    auth: dict[str, str],
    project_id: str,
    job_id: str,
    statuses: tuple[str, ...] = FINAL,
    timeout: float = 120,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/projects/{project_id}/training-jobs/{job_id}", headers=auth).json()
        if job["status"] in statuses:
            return dict(job)
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout}s: {job}"
        time.sleep(0.5)


def stored_job(project_id: str, job_id: str) -> TrainingJob:
    """The job as the pipeline left it in DynamoDB (status history included)."""
    from relay.backends import aws
    from relay.services.training.dynamodb import DynamoDBTrainingJobRepository
    from relay.settings import get_settings

    job = DynamoDBTrainingJobRepository(aws.client("dynamodb"), get_settings().table_name).get(
        project_id, job_id
    )
    assert job is not None
    return job


def history(project_id: str, job_id: str) -> list[str]:
    return [entry.status for entry in stored_job(project_id, job_id).status_history]


def execution(job_id: str) -> dict[str, Any]:
    from relay.backends import aws
    from relay.settings import get_settings

    arn = get_settings().state_machine_arn
    prefix, _, name = arn.rpartition(":stateMachine:")
    described: dict[str, Any] = aws.client("stepfunctions").describe_execution(
        executionArn=f"{prefix}:execution:{name}:{job_id}"
    )
    return described


def wait_for_execution(job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (described := execution(job_id))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution is still running"
        time.sleep(0.3)
    return described
