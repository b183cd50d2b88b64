"""Deployments on the local SageMaker hosting stand-in through the real boto3 adapter: a base model
deployed, scaled to zero from CloudWatch's metrics and back, deleted; a create that fails cleaned
up. After each path the SageMaker List calls show nothing of ours."""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import pytest

from relay.backends.worker import InMemoryWorker
from relay.errors import RelayError
from relay.protocol.deployments import CreateDeploymentRequest
from relay.services.container import Services
from relay.services.deployments.fakes import RecordingExecutions
from relay.services.keys.models import ADMIN
from relay.settings import Settings

# Trains or serves tiny-local: one such test at a time, all on one pytest-xdist worker (Makefile).
pytestmark = [pytest.mark.functional, pytest.mark.xdist_group("tiny-models")]

if not (Path(__file__).resolve().parents[2] / ".venv-train" / "bin" / "python").exists():
    pytest.skip("the serving processes need .venv-train (make training)", allow_module_level=True)

PREFIX = "relay-fh"


class HostedServices(Services):
    """The stack's services on the hosting stand-in; only the state machine and the deployer's
    asynchronous invokes are in-process."""

    recorded = RecordingExecutions()
    invokes = InMemoryWorker()

    @cached_property
    def deployment_executions(self) -> Any:
        return self.recorded

    @cached_property
    def deployer(self) -> Any:
        return self.invokes


@pytest.fixture(scope="module")
def stack(local_stack: object) -> HostedServices:
    settings = replace(
        Settings.from_env(),
        resource_prefix=PREFIX,
        sagemaker_execution_role_arn="arn:aws:iam::123456789012:role/hosting",
        deployment_poll_seconds=1,
    )
    return HostedServices(settings)


@pytest.fixture()
def project(stack: HostedServices, client: Any, auth: dict[str, str]) -> str:
    response = client.post("/v1/projects", json={"name": "hosted"}, headers=auth)
    assert response.status_code == 201
    return str(response.json()["id"])


def run(stack: HostedServices, name: str, deadline: float = 90) -> dict[str, Any]:
    """One execution as the state machine runs it; a step's error goes to the fail step, as its Catch does."""
    payload = stack.recorded.started[name]
    end = time.monotonic() + deadline
    try:
        result = stack.deployment_worker.handle({"step": payload["action"], **payload})
        while not result["done"]:
            assert time.monotonic() < end, f"{name} did not finish"
            time.sleep(0.3)
            result = stack.deployment_worker.handle({"step": "poll", **payload})
    except RelayError as exc:
        failure = {"step": "fail", "error": {"Error": type(exc).__name__, "Cause": exc.message}, **payload}
        return stack.deployment_worker.handle(failure)
    return result


def ours() -> dict[str, list[str]]:
    sagemaker = boto3.client("sagemaker")
    return {
        "models": [
            m["ModelName"] for m in sagemaker.list_models()["Models"] if m["ModelName"].startswith(PREFIX)
        ],
        "configs": [
            c["EndpointConfigName"]
            for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
            if c["EndpointConfigName"].startswith(PREFIX)
        ],
        "endpoints": [
            e["EndpointName"]
            for e in sagemaker.list_endpoints()["Endpoints"]
            if e["EndpointName"].startswith(PREFIX)
        ],
        "components": [
            c["InferenceComponentName"]
            for c in sagemaker.list_inference_components()["InferenceComponents"]
            if c["InferenceComponentName"].startswith(PREFIX)
        ],
    }


def wait_until_nothing_is_left(deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    while any(ours().values()):
        assert time.monotonic() < end, f"still there: {ours()}"
        time.sleep(0.3)


def test_base_model_deploys_scales_to_zero_comes_back_and_is_removed(
    stack: HostedServices, project: str
) -> None:
    body = CreateDeploymentRequest(
        training_job_id="tiny-local", checkpoint=0, name="fh-" + secrets.token_hex(3)
    )
    made = stack.deployments.create(project, body, ADMIN)
    assert run(stack, f"{made.id}-create-1")["status"] == "Deployed"
    component = f"{PREFIX}-{made.id}"
    described = boto3.client("sagemaker").describe_inference_component(InferenceComponentName=component)
    assert described["InferenceComponentStatus"] == "InService"
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 1
    assert described["Specification"]["ModelName"] == f"{PREFIX}-{made.id}"
    assert stack.deployments.detail(project, made.id, ADMIN)[1] == 1  # read through the boto3 adapter
    # idle past its timeout (the clock moved on): the scaler sets the copy count to 0
    later = time.time() + made.inactive_timeout + 120
    stack.deployment_worker.scaler._clock = lambda: later
    assert made.id in stack.deployment_worker.handle({"action": "scale"})["deactivated"]
    assert stack.deployments.get(project, made.id, ADMIN).status == "Deactivated"
    copies = boto3.client("sagemaker").describe_inference_component(InferenceComponentName=component)
    assert copies["RuntimeConfig"]["DesiredCopyCount"] == 0
    event = {"action": "reactivate", "deployment_id": made.id, "project_id": project}
    assert stack.deployment_worker.handle(event) == {"started": True}
    assert run(stack, f"{made.id}-reactivate-1")["status"] == "Deployed"
    stack.deployments.delete(project, made.id, ADMIN)
    run(stack, f"{made.id}-delete-1")
    wait_until_nothing_is_left()


def test_a_failed_create_removes_what_it_made(stack: HostedServices, project: str) -> None:
    body = CreateDeploymentRequest(training_job_id="tiny-local", checkpoint=0)
    made = stack.deployments.create(project, body, ADMIN)
    # Weights SageMaker can read but no container can load: the component fails after the
    # endpoint and the model were made.
    bucket = stack.settings.bucket_name
    broken = f"projects/{project}/broken/"
    boto3.client("s3").put_object(Bucket=bucket, Key=broken + "config.json", Body=b"not a model")
    stack.deployments.deployments.update(project, made.id, 0, model_data_url=f"s3://{bucket}/{broken}")
    assert run(stack, f"{made.id}-create-1")["status"] == "Failed"
    failed = stack.deployments.get(project, made.id, ADMIN)
    assert failed.failure_reason and failed.status == "Failed"
    # the fail step deletes the component and hands the rest to a delete execution
    assert run(stack, f"{made.id}-delete-1")["status"] == "Failed"
    wait_until_nothing_is_left()


def test_a_refused_model_fails_the_deployment_naming_why(stack: HostedServices, project: str) -> None:
    made = stack.deployments.create(
        project, CreateDeploymentRequest(training_job_id="tiny-local", checkpoint=0), ADMIN
    )
    bucket = stack.settings.bucket_name
    stack.deployments.deployments.update(project, made.id, 0, model_data_url=f"s3://{bucket}/nowhere/")
    assert run(stack, f"{made.id}-create-1")["status"] == "Failed"
    assert "Could not access model data" in str(stack.deployments.get(project, made.id, ADMIN).failure_reason)
    wait_until_nothing_is_left()
