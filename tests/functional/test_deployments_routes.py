"""Engine and deployment routes through the app on moto (DynamoDB, S3, Scheduler): the spec's
shapes, every refusal in the control-plane envelope with nothing created, and clean-up after
each path (the deployer's steps are run in-process where the state machine would run them)."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from functools import cached_property
from typing import Any

import boto3
import pytest

from relay.backends.worker import InMemoryWorker
from relay.services.container import Services
from relay.services.deployments.fakes import InMemoryHosting, InMemoryMetrics, RecordingExecutions
from relay.services.training.dynamodb import DynamoDBTrainingJobRepository
from relay.services.training.models import Checkpoint, TrainingJob
from relay.settings import Settings

pytestmark = pytest.mark.functional

PREFIX = "relay-ft"
GROUP = "relay-ft-schedules"
EMPTY = {"models": [], "endpoint_configs": [], "endpoints": [], "components": []}


class DeploymentServices(Services):
    """The stack's services with the SageMaker hosting API, metrics, the state machine and the
    deployer's asynchronous invokes replaced by in-process fakes; DynamoDB, S3 and Scheduler stay on moto."""

    hosting = InMemoryHosting()
    metrics = InMemoryMetrics()
    recorded = RecordingExecutions()
    invokes = InMemoryWorker()

    @cached_property
    def deployment_executions(self) -> Any:
        return self.recorded

    @cached_property
    def deployment_hosting(self) -> Any:
        return self.hosting

    @cached_property
    def deployment_metrics(self) -> Any:
        return self.metrics

    @cached_property
    def deployer(self) -> Any:
        return self.invokes


@pytest.fixture(scope="module")
def stack(local_stack: object) -> DeploymentServices:
    scheduler = boto3.client("scheduler")
    if GROUP not in {g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]}:
        scheduler.create_schedule_group(Name=GROUP)
    settings = replace(
        Settings.from_env(),
        resource_prefix=PREFIX,
        schedule_group_name=GROUP,
        scheduler_role_arn="arn:aws:iam::123456789012:role/scheduler",
        deployer_function_name="relay-ft-deployer",
        sagemaker_execution_role_arn="arn:aws:iam::123456789012:role/hosting",
        deployment_poll_seconds=1,
    )
    return DeploymentServices(settings)


@pytest.fixture(scope="module")
def api(stack: DeploymentServices) -> Any:
    from fastapi.testclient import TestClient

    from relay.http.app import create_local_app

    with TestClient(create_local_app(stack), raise_server_exceptions=False) as test_client:
        yield test_client


def run(stack: DeploymentServices, name: str, limit: int = 20) -> dict[str, Any]:
    """One execution as the state machine runs it: the action step, then polls until done."""
    payload = stack.recorded.started[name]
    result = stack.deployment_worker.handle({"step": payload["action"], **payload})
    for _ in range(limit):
        if result["done"]:
            return result
        result = stack.deployment_worker.handle({"step": "poll", **payload})
    raise AssertionError(f"{name} did not finish")


def error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "error", "code"} and body["status"] == status
    if code:
        assert body["code"] == code
    return body


def schedules() -> set[str]:
    found = boto3.client("scheduler").list_schedules(GroupName=GROUP)["Schedules"]
    return {s["Name"] for s in found}


@pytest.fixture()
def project(api: Any, auth: dict[str, str]) -> str:
    response = api.post("/v1/projects", json={"name": "deployments"}, headers=auth)
    assert response.status_code == 201
    return str(response.json()["id"])


def trained(
    stack: DeploymentServices, project: str, task: str, *, status: str = "Success", **facts: Any
) -> str:
    """A training job record with checkpoint 5 and the files the trainer writes beside it."""
    jobs = DynamoDBTrainingJobRepository(boto3.client("dynamodb"), stack.settings.table_name)
    job_id = "tr-" + secrets.token_hex(8)
    jobs.create(
        TrainingJob(
            id=job_id,
            project_id=project,
            name="t",
            created_at=1,
            updated_at=1,
            base_model="tiny-local",
            task_type=task,
        )
    )
    for step in ("Running", "Testing", "Success")[
        : ("Pending", "Running", "Testing", "Success").index(status)
    ]:
        jobs.transition(project, job_id, step, 2)  # type: ignore[arg-type]
    bucket = stack.settings.bucket_name
    folder = f"projects/{project}/training/{job_id}/checkpoints/checkpoint-5/"
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=folder + "relay_checkpoint.json", Body=json.dumps({"adapter": False}))
    if facts.get("labels"):
        s3.put_object(Bucket=bucket, Key=folder + "labels.json", Body=json.dumps({"labels": facts["labels"]}))
    jobs.put_checkpoint(
        project, job_id, Checkpoint(checkpoint=5, model_download_url=f"s3://{bucket}/{folder}", created_at=3)
    )
    return job_id


def test_deploy_call_it_by_name_and_delete(
    api: Any, auth: dict[str, str], stack: DeploymentServices, project: str
) -> None:
    job = trained(stack, project, "classification", labels=["neg", "pos"])
    name = "clf-" + secrets.token_hex(3)
    created = api.post(
        f"/v1/projects/{project}/deployments",
        json={"training_job_id": job, "checkpoint": 5, "name": name, "description": "d"},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    summary = created.json()
    assert set(summary) == {"id", "name", "status", "created_at"} and summary["status"] == "Pending"
    deployment_id = summary["id"]
    listed = api.get("/v1/models", headers=auth).json()["data"]
    assert any(m["id"].split("/")[0] == name and m["type"] == "classification" for m in listed)
    assert run(stack, f"{deployment_id}-create-1")["status"] == "Deployed"
    detail = api.get(f"/v1/projects/{project}/deployments/{deployment_id}", headers=auth).json()
    assert detail["status"] == "Deployed" and detail["metadata"] == {"labels": ["neg", "pos"]}
    assert (
        detail["task_type"] == "classification" and detail["training_id"] == job and detail["checkpoint"] == 5
    )
    assert detail["base_model"] == "tiny-local" and detail["description"] == "d"
    assert detail["copies"] == 1
    listed_deployments = api.get(f"/v1/projects/{project}/deployments", headers=auth).json()
    assert [set(d) for d in listed_deployments] == [{"id", "name", "status", "created_at"}]
    engine = api.get(f"/v1/engines/{detail['engine_id']}", headers=auth).json()
    assert engine["status"] == "Active" and [d["id"] for d in engine["deployments"]] == [deployment_id]
    assert engine["resource_management_config"] == {
        "management_type": "inactive_timeout",
        "management_config": {"inactive_duration": 3600},
    }
    project_detail = api.get(f"/v1/projects/{project}", headers=auth).json()
    assert [d["id"] for d in project_detail["deployments"]] == [deployment_id]
    model = stack.hosting.models[f"{PREFIX}-{deployment_id}"]
    assert (
        model["env"]["RELAY_LABELS"] == '["neg", "pos"]' and "huggingface-pytorch-inference" in model["image"]
    )
    assert api.delete(f"/v1/projects/{project}/deployments/{deployment_id}", headers=auth).status_code == 204
    assert api.get(f"/v1/models/{name}", headers=auth).status_code == 404
    run(stack, f"{deployment_id}-delete-1")
    assert stack.hosting.resources() == EMPTY
    gone = api.get(f"/v1/projects/{project}/deployments/{deployment_id}", headers=auth).json()
    assert gone["status"] == "Terminated" and gone["copies"] is None


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"checkpoint": 1}, 400, None),
        ({"training_job_id": "tr-0000000000000000"}, 400, None),
        ({"training_job_id": "tr-0000000000000000", "checkpoint": 1}, 404, "object_not_found"),
        ({"training_job_id": "not-a-model", "checkpoint": 0}, 404, "object_not_found"),
        ({"training_job_id": "tiny-local", "checkpoint": -1}, 400, None),
        ({"training_job_id": "tiny-local", "checkpoint": 0, "inactive_timeout": -5}, 400, None),
        ({"training_job_id": "tiny-local", "checkpoint": 0, "inactive_timeout": 10**9}, 400, None),
        ({"training_job_id": "tiny-local", "checkpoint": 0, "colour": "red"}, 400, None),
        ({"training_job_id": "tiny-local", "checkpoint": 0, "name": "has/slash"}, 400, None),
        (
            {
                "training_job_id": "tiny-local",
                "checkpoint": 0,
                "schedule": {
                    "timezone": "Moon/Base",
                    "start_time": "09:00",
                    "end_time": "17:00",
                    "days": ["monday"],
                },
            },
            400,
            None,
        ),
        (
            {
                "training_job_id": "tiny-local",
                "checkpoint": 0,
                "schedule": {
                    "timezone": "UTC",
                    "start_time": "09:00",
                    "end_time": "17:00",
                    "days": ["someday"],
                },
            },
            400,
            None,
        ),
    ],
)
def test_bad_deployment_requests_create_nothing(
    api: Any,
    auth: dict[str, str],
    stack: DeploymentServices,
    project: str,
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    engines_before = api.get("/v1/engines", headers=auth).json()
    started_before = dict(stack.recorded.started)
    response = api.post(f"/v1/projects/{project}/deployments", json=body, headers=auth)
    message = error(response, status, code)["error"]
    if "schedule" in body:
        assert "schedule." in message
    if "inactive_timeout" in body:
        assert "inactive_timeout" in message
    assert api.get(f"/v1/projects/{project}/deployments", headers=auth).json() == []
    assert api.get("/v1/engines", headers=auth).json() == engines_before
    assert stack.recorded.started == started_before and schedules() == set()


def test_unfinished_jobs_missing_checkpoints_and_duplicate_names(
    api: Any, auth: dict[str, str], stack: DeploymentServices, project: str
) -> None:
    running = trained(stack, project, "text-generation", status="Running")
    body = error(
        api.post(
            f"/v1/projects/{project}/deployments",
            json={"training_job_id": running, "checkpoint": 5},
            headers=auth,
        ),
        400,
    )
    assert "Running" in body["error"]
    done = trained(stack, project, "text-generation")
    missing = api.post(
        f"/v1/projects/{project}/deployments", json={"training_job_id": done, "checkpoint": 7}, headers=auth
    )
    assert "has no checkpoint 7 (it has: 5)" in error(missing, 400)["error"]
    name = "dup-" + secrets.token_hex(3)
    first = api.post(
        f"/v1/projects/{project}/deployments",
        json={"training_job_id": done, "checkpoint": 5, "name": name},
        headers=auth,
    )
    assert first.status_code == 201
    again = api.post(
        f"/v1/projects/{project}/deployments",
        json={"training_job_id": "tiny-local", "checkpoint": 0, "name": name},
        headers=auth,
    )
    error(again, 409, "conflict")
    assert [d["name"] for d in api.get(f"/v1/projects/{project}/deployments", headers=auth).json()] == [name]
    error(
        api.get(f"/v1/projects/{project}/deployments/dp-0000000000000000", headers=auth),
        404,
        "object_not_found",
    )
    error(api.get("/v1/projects/ms-0000000000000000/deployments", headers=auth), 404, "object_not_found")
    deployment_id = first.json()["id"]
    # deleted while deploying: Cancelled, and the executions leave nothing behind
    stack.deployment_worker.handle({"step": "create", **stack.recorded.started[f"{deployment_id}-create-1"]})
    assert api.delete(f"/v1/projects/{project}/deployments/{deployment_id}", headers=auth).status_code == 204
    run(stack, f"{deployment_id}-delete-1")
    run(stack, f"{deployment_id}-create-1")
    assert (
        api.get(f"/v1/projects/{project}/deployments/{deployment_id}", headers=auth).json()["status"]
        == "Cancelled"
    )
    assert stack.hosting.resources() == EMPTY


def test_schedules_live_in_scheduler_until_the_deployment_ends(
    api: Any, auth: dict[str, str], stack: DeploymentServices, project: str
) -> None:
    body = {
        "training_job_id": "tiny-local",
        "checkpoint": 0,
        "schedule": {
            "timezone": "America/Los_Angeles",
            "start_time": "10:00",
            "end_time": "18:00",
            "days": ["monday", "friday"],
        },
    }
    created = api.post(f"/v1/projects/{project}/deployments", json=body, headers=auth)
    assert created.status_code == 201, created.text
    deployment_id = created.json()["id"]
    start = boto3.client("scheduler").get_schedule(Name=f"{PREFIX}-{deployment_id}-start", GroupName=GROUP)
    assert start["ScheduleExpression"] == "cron(0 10 ? * MON,FRI *)"
    assert start["ScheduleExpressionTimezone"] == "America/Los_Angeles"
    assert start["Target"]["Arn"] == "arn:aws:lambda:us-east-1:123456789012:function:relay-ft-deployer"
    assert json.loads(start["Target"]["Input"])["state"] == "start"
    run(stack, f"{deployment_id}-create-1")
    stop = json.loads(
        boto3.client("scheduler").get_schedule(Name=f"{PREFIX}-{deployment_id}-stop", GroupName=GROUP)[
            "Target"
        ]["Input"]
    )
    stack.deployment_worker.handle(stop)
    assert (
        api.get(f"/v1/projects/{project}/deployments/{deployment_id}", headers=auth).json()["status"]
        == "Deactivated"
    )
    assert (
        api.post(f"/v1/projects/{project}/deployments/{deployment_id}/reactivate", headers=auth).status_code
        == 204
    )
    error(api.post(f"/v1/projects/{project}/deployments/{deployment_id}/reactivate", headers=auth), 400)
    run(stack, f"{deployment_id}-reactivate-1")
    error(api.post(f"/v1/projects/{project}/deployments/{deployment_id}/reactivate", headers=auth), 400)
    api.delete(f"/v1/projects/{project}/deployments/{deployment_id}", headers=auth)
    run(stack, f"{deployment_id}-delete-1")
    assert schedules() == set() and stack.hosting.resources() == EMPTY


def test_engine_routes(api: Any, auth: dict[str, str], stack: DeploymentServices, project: str) -> None:
    error(api.post("/v1/engines", json={}, headers=auth), 400)
    error(api.post("/v1/engines", json={"base_model": "gpt-9"}, headers=auth), 400)
    error(
        api.post("/v1/engines", json={"base_model": "tiny-local", "task_type": "embedding"}, headers=auth),
        400,
    )
    error(api.get("/v1/engines/engine-0000000000000000", headers=auth), 404, "object_not_found")
    bad_config = {
        "base_model": "tiny-local",
        "resource_management_config": {
            "management_type": "inactive_timeout",
            "management_config": {"inactive_duration": -1},
        },
    }
    error(api.post("/v1/engines", json=bad_config, headers=auth), 400)
    created = api.post("/v1/engines", json={"name": "gen", "base_model": "tiny-local"}, headers=auth)
    assert created.status_code == 201, created.text
    engine = created.json()
    assert set(engine) == {
        "id",
        "name",
        "status",
        "base_model",
        "server_type",
        "task_type",
        "deployment_counts",
        "created_at",
    }
    assert (
        engine["task_type"] == "text-generation"
        and engine["deployment_counts"] == 0
        and engine["status"] == "Inactive"
    )
    engine_id = engine["id"]
    assert engine_id in {
        e["id"] for e in api.get("/v1/engines", params={"base_model": "tiny-local"}, headers=auth).json()
    }
    assert api.get("/v1/engines", params={"task_type": "embedding"}, headers=auth).json() == []
    error(api.post(f"/v1/engines/{engine_id}/deactivate", headers=auth), 400)
    error(api.post(f"/v1/engines/{engine_id}/reactivate", headers=auth), 400)
    cls = trained(stack, project, "classification", labels=["a", "b"])
    mismatch = api.post(
        f"/v1/engines/{engine_id}/deploy",
        json={"project_id": project, "training_id": cls, "checkpoint": 5},
        headers=auth,
    )
    assert "serves tiny-local for text-generation" in error(mismatch, 400)["error"]
    error(
        api.post(
            f"/v1/engines/{engine_id}/deploy", json={"project_id": project, "checkpoint": 5}, headers=auth
        ),
        400,
    )
    job = trained(stack, project, "text-generation")
    name = "gen-" + secrets.token_hex(3)
    deployed = api.post(
        f"/v1/engines/{engine_id}/deploy",
        json={"project_id": project, "training_id": job, "checkpoint": 5, "name": name},
        headers=auth,
    )
    assert deployed.status_code == 201, deployed.text
    deployment_id = deployed.json()["id"]
    run(stack, f"{deployment_id}-create-1")
    detail = api.get(f"/v1/engines/{engine_id}", headers=auth).json()
    assert (
        detail["status"] == "Active"
        and detail["deployments"][0]["name"] == name
        and detail["instance_type"] == "ml.m5.xlarge"
    )
    assert detail["deployments"][0]["copies"] == 1
    deployment_path = f"/v1/projects/{project}/deployments/{deployment_id}"
    assert api.get(deployment_path, headers=auth).json()["copies"] == 1
    assert api.post(f"/v1/engines/{engine_id}/deactivate", headers=auth).status_code == 204
    assert api.get(f"/v1/engines/{engine_id}", headers=auth).json()["status"] == "Inactive"
    stack.deployment_worker.handle(stack.invokes.submitted[-1])
    component = stack.hosting.component(f"{PREFIX}-{deployment_id}")
    assert component is not None and component.desired_copies == 0
    stack.hosting.resources()  # the update settles, as SageMaker's CurrentCopyCount follows
    assert api.get(deployment_path, headers=auth).json()["copies"] == 0
    assert api.get(f"/v1/engines/{engine_id}", headers=auth).json()["deployments"][0]["copies"] == 0
    assert api.post(f"/v1/engines/{engine_id}/reactivate", headers=auth).status_code == 204
    run(stack, f"{deployment_id}-reactivate-1")
    error(api.delete(f"/v1/engines/{engine_id}", headers=auth), 409, "conflict")
    error(api.post(f"/v1/engines/{engine_id}/undeploy", json={}, headers=auth), 400)
    error(api.post(f"/v1/engines/{engine_id}/undeploy", json={"deployment_name": "nope"}, headers=auth), 404)
    assert (
        api.post(
            f"/v1/engines/{engine_id}/undeploy", json={"deployment_name": name}, headers=auth
        ).status_code
        == 204
    )
    run(stack, f"{deployment_id}-delete-1")
    assert api.delete(f"/v1/engines/{engine_id}", headers=auth).status_code == 204
    error(api.get(f"/v1/engines/{engine_id}", headers=auth), 404)
    assert stack.invokes.submitted[-1] == {"action": "delete_engine", "engine_id": engine_id}
    stack.deployment_worker.handle(stack.invokes.submitted[-1])
    assert stack.hosting.resources() == EMPTY


def test_another_keys_deployments_and_engines_are_404(
    api: Any, auth: dict[str, str], stack: DeploymentServices
) -> None:
    def key(name: str) -> dict[str, str]:
        created = api.post("/v1/keys", json={"name": name}, headers=auth)
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['key']}"}

    u, v = key("dep-u"), key("dep-v")
    mine = api.post("/v1/projects", json={"name": "u"}, headers=u).json()["id"]
    made = api.post(
        f"/v1/projects/{mine}/deployments", json={"training_job_id": "tiny-local", "checkpoint": 0}, headers=u
    )
    assert made.status_code == 201, made.text
    deployment = made.json()["id"]
    pending = api.get(f"/v1/projects/{mine}/deployments/{deployment}", headers=u).json()
    assert pending["status"] == "Pending" and pending["copies"] is None  # no component yet
    engine = pending["engine_id"]
    for method, path in [
        ("GET", f"/v1/projects/{mine}/deployments"),
        ("GET", f"/v1/projects/{mine}/deployments/{deployment}"),
        ("DELETE", f"/v1/projects/{mine}/deployments/{deployment}"),
        ("POST", f"/v1/projects/{mine}/deployments/{deployment}/reactivate"),
        ("GET", f"/v1/engines/{engine}"),
        ("DELETE", f"/v1/engines/{engine}"),
        ("POST", f"/v1/engines/{engine}/deactivate"),
    ]:
        error(api.request(method, path, headers=v), 404, "object_not_found")
    theirs = api.post(
        f"/v1/projects/{mine}/deployments", json={"training_job_id": "tiny-local", "checkpoint": 0}, headers=v
    )
    error(theirs, 404, "object_not_found")
    assert engine not in {e["id"] for e in api.get("/v1/engines", headers=v).json()}
    assert engine in {e["id"] for e in api.get("/v1/engines", headers=u).json()}
    assert engine in {e["id"] for e in api.get("/v1/engines", headers=auth).json()}
    assert api.delete(f"/v1/projects/{mine}/deployments/{deployment}", headers=u).status_code == 204
    run(stack, f"{deployment}-delete-1")


def test_checkpoints_are_fetched_through_presigned_links(
    api: Any, auth: dict[str, str], stack: DeploymentServices, project: str
) -> None:
    import httpx

    job = trained(stack, project, "classification", labels=["x", "y"])
    listed = api.get(f"/v1/projects/{project}/training-jobs/{job}/checkpoints", headers=auth)
    assert listed.status_code == 200, listed.text
    (checkpoint,) = listed.json()
    assert checkpoint["checkpoint"] == 5 and not checkpoint["model_download_url"].startswith("s3://")
    assert set(checkpoint["model_files"]) == {"relay_checkpoint.json", "labels.json"}
    fetched = httpx.get(checkpoint["model_files"]["labels.json"], timeout=10)
    assert fetched.status_code == 200 and fetched.json() == {"labels": ["x", "y"]}
    assert "attachment" in fetched.headers["content-disposition"]
