"""The training state machine, run end to end from statemachines/training.asl.json by moto's
Step Functions interpreter (defects patched in local/stepfunctions.py), with the pipeline worker
in-process and jobs trained on CPU by the SageMaker training emulator."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.training_support import (
    SUMS,
    create_project,
    execution,
    history,
    stored_job,
    upload_dataset,
    wait_for,
    wait_for_execution,
)

# Trains or serves tiny-local: one such test at a time, all on one pytest-xdist worker (Makefile).
pytestmark = [pytest.mark.functional, pytest.mark.xdist_group("tiny-models")]


@pytest.fixture(scope="module")
def project(client: Any, admin_key: str) -> tuple[str, str]:
    auth = {"Authorization": f"Bearer {admin_key}"}
    project_id = create_project(client, auth, "pipeline")
    return project_id, upload_dataset(client, auth, project_id, SUMS)


def _start(client: Any, auth: dict[str, str], project_id: str, dataset_id: str, **extra: Any) -> str:
    body = {"base_model": "tiny-local", "train_dataset_id": dataset_id, **extra}
    response = client.post(f"/v1/projects/{project_id}/training-jobs", json=body, headers=auth)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "Pending"
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def finished(client: Any, admin_key: str, project: tuple[str, str]) -> dict[str, Any]:
    """A tiny-local job run to its end with a test split and two test functions, started by the first
    test that needs it: the success path's subject and the cancel test's finished job."""
    auth = {"Authorization": f"Bearer {admin_key}"}
    project_id, dataset_id = project
    job_id = _start(
        client,
        auth,
        project_id,
        dataset_id,
        train_test_split_ratio=20,
        test_functions=["exact_match", "token_f1"],
    )
    return wait_for(client, auth, project_id, job_id)


def test_success_path_records_every_status_progress_loss_and_checkpoints(
    client: Any, auth: dict[str, str], project: tuple[str, str], finished: dict[str, Any]
) -> None:
    project_id, _ = project
    job, job_id = finished, finished["id"]
    assert job["status"] == "Success", job.get("failure_reason")
    assert history(project_id, job_id) == ["Pending", "Running", "Testing", "Success"]
    assert job["progress"] == 100
    losses = job["training_loss"]
    assert losses and all(isinstance(p["loss"], float) and p["timestamp"] > 0 for p in losses)
    assert [p["timestamp"] for p in losses] == sorted(p["timestamp"] for p in losses)
    assert job["hyper_parameters"]["train_test_split_ratio"] == 20
    assert job["hyper_parameters"]["learning_rate"] == 0.0002  # the catalogue default, filled in
    described = wait_for_execution(job_id)
    assert described["status"] == "SUCCEEDED" and described["name"] == job_id
    checkpoints = client.get(
        f"/v1/projects/{project_id}/training-jobs/{job_id}/checkpoints", headers=auth
    ).json()
    # Presigned links (not bare s3:// URIs) to the checkpoint folder's weights and every file in it.
    assert checkpoints
    first = checkpoints[0]
    assert f"checkpoint-{first['checkpoint']}/" in first["model_download_url"]
    assert first["model_download_url"].startswith("http") and "X-Amz-Signature" in first["model_download_url"]
    assert "relay_checkpoint.json" in first["model_files"]
    results = checkpoints[-1]["test_results"]
    assert set(results["aggregated_test_result"]) == {"exact_match", "token_f1"}
    assert all(0.0 <= float(v) <= 1.0 for v in results["aggregated_test_result"].values())
    # The per-example file holds one scored row per test example (20 % of 15 rows).
    from relay.backends import aws

    bucket, _, key = results["general_test_result"].removeprefix("s3://").partition("/")
    rows = [
        json.loads(line)
        for line in aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()
    ]
    assert len(rows) == 3 and all(set(r["scores"]) == {"exact_match", "token_f1"} for r in rows)


def test_a_retried_start_does_not_start_a_second_execution(
    client: Any, auth: dict[str, str], project: tuple[str, str]
) -> None:
    project_id, dataset_id = project
    headers = {**auth, "Idempotency-Key": "retry-me"}
    body = {"base_model": "Llama-3.2-1B-Instruct", "train_dataset_id": dataset_id}
    first = client.post(f"/v1/projects/{project_id}/training-jobs", json=body, headers=headers)
    second = client.post(f"/v1/projects/{project_id}/training-jobs", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    job_id = first.json()["id"]
    wait_for(client, auth, project_id, job_id)
    from relay.backends import aws

    machine = execution(job_id)["stateMachineArn"]
    names = [
        e["name"] for e in aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    ]
    assert names.count(job_id) == 1


def test_a_gpu_base_model_fails_fast_locally_with_the_reason(
    client: Any, auth: dict[str, str], project: tuple[str, str]
) -> None:
    project_id, dataset_id = project
    job_id = _start(client, auth, project_id, dataset_id, base_model="Llama-3.2-1B-Instruct")
    job = wait_for(client, auth, project_id, job_id, timeout=30)
    assert job["status"] == "Failed"
    assert "CPU only" in job["failure_reason"] and "Llama-3.2-1B-Instruct" in job["failure_reason"]
    assert "ResourceLimitExceeded" in job["failure_reason"]
    assert history(project_id, job_id) == ["Pending", "Failed"]
    described = wait_for_execution(job_id)
    assert described["status"] == "FAILED" and described["error"] == "TrainingFailed"


@pytest.fixture()
def short_runtime() -> Iterator[None]:
    """MaxRuntimeInSeconds of 2 s for jobs started meanwhile (the worker reads it from its settings)."""
    from local.functions import module_of

    pipeline = module_of("relay-local-pipelinefunction")._pipeline
    original = pipeline.settings
    pipeline.settings = dataclasses.replace(original, training_max_runtime=2)
    try:
        yield
    finally:
        pipeline.settings = original


def test_a_job_past_its_max_runtime_times_out(
    client: Any, auth: dict[str, str], project: tuple[str, str], short_runtime: None
) -> None:
    project_id, dataset_id = project
    job_id = _start(client, auth, project_id, dataset_id)
    job = wait_for(client, auth, project_id, job_id, timeout=60)
    assert job["status"] == "TimedOut"
    assert "time limit" in job["failure_reason"]
    statuses = history(project_id, job_id)
    assert statuses[0] == "Pending" and statuses[-1] == "TimedOut" and "Success" not in statuses
    from relay.backends import aws

    described = aws.client("sagemaker").describe_training_job(TrainingJobName=job_id)
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert wait_for_execution(job_id)["error"] == "TrainingTimedOut"


def test_cancel_stops_the_execution_and_the_training_job(
    client: Any, auth: dict[str, str], project: tuple[str, str]
) -> None:
    project_id, dataset_id = project
    job_id = _start(client, auth, project_id, dataset_id, parameters={"num_train_epochs": 50})
    wait_for(client, auth, project_id, job_id, statuses=("Running",), timeout=60)
    url = f"/v1/projects/{project_id}/training-jobs/{job_id}/cancel"
    assert client.post(url, headers=auth).status_code == 204
    assert (
        client.get(f"/v1/projects/{project_id}/training-jobs/{job_id}", headers=auth).json()["status"]
        == "Cancelled"
    )
    assert history(project_id, job_id) == ["Pending", "Running", "Cancelled"]
    assert stored_job(project_id, job_id).failure_reason is None
    assert wait_for_execution(job_id)["status"] == "ABORTED"
    from relay.backends import aws

    described = aws.client("sagemaker").describe_training_job(TrainingJobName=job_id)
    assert described["TrainingJobStatus"] in ("Stopping", "Stopped")
    # Twice is still 204, and nothing changed.
    again = client.post(url, headers=auth)
    assert again.status_code == 204 and again.content == b""
    assert history(project_id, job_id) == ["Pending", "Running", "Cancelled"]
    assert client.delete(f"/v1/projects/{project_id}/training-jobs/{job_id}", headers=auth).status_code == 204
    assert client.get(f"/v1/projects/{project_id}/training-jobs/{job_id}", headers=auth).status_code == 404


def test_cancel_of_a_finished_or_unknown_job(
    client: Any, auth: dict[str, str], project: tuple[str, str], finished: dict[str, Any]
) -> None:
    project_id, _ = project
    assert finished["status"] == "Success", finished.get("failure_reason")
    response = client.post(f"/v1/projects/{project_id}/training-jobs/{finished['id']}/cancel", headers=auth)
    assert response.status_code == 409
    assert response.json() == {"status": 409, "error": response.json()["error"], "code": "conflict"}
    assert "Success" in response.json()["error"] and "Traceback" not in response.text
    missing = client.post(f"/v1/projects/{project_id}/training-jobs/tr-0000000000000000/cancel", headers=auth)
    assert missing.status_code == 404 and missing.json()["code"] == "object_not_found"
