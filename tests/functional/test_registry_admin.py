"""/v1/admin/models: registration, validation, the DescribeEndpoint check, listing, deletion."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def described_endpoint(local_stack: object) -> str:
    """A real (moto) endpoint, so DescribeEndpoint succeeds."""
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model(
        ModelName="reg-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sm",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="reg-config",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": "reg-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.g4dn.xlarge",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="reg-endpoint-openai", EndpointConfigName="reg-config")
    # Creating for a moment, as on AWS (the local hosting emulator's asynchronous status).
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName="reg-endpoint-openai", WaiterConfig={"Delay": 0.1}
    )
    return "reg-endpoint-openai"


def test_register_get_list_delete(client: Any, auth: dict[str, str], described_endpoint: str) -> None:
    body = {
        "id": "reg-llm",
        "endpoint_name": described_endpoint,
        "flavour": "openai",
        "inference_component": "ic-1",
    }
    created = client.post("/v1/admin/models", json=body, headers=auth)
    assert created.status_code == 201, created.text
    model = created.json()
    assert (
        model["id"] == "reg-llm/dev" and model["type"] == "chat" and model["endpoint_status"] == "InService"
    )
    assert client.post("/v1/admin/models", json=body, headers=auth).status_code == 409
    assert client.get("/v1/admin/models/reg-llm", headers=auth).json()["inference_component"] == "ic-1"
    assert "reg-llm/dev" in [m["id"] for m in client.get("/v1/admin/models", headers=auth).json()["data"]]
    listed = client.get("/v1/models/reg-llm/dev", headers=auth)
    assert listed.status_code == 200 and listed.json()["owned_by"] == "sagemaker"
    assert client.delete("/v1/admin/models/reg-llm/dev", headers=auth).json() == {
        "id": "reg-llm/dev",
        "object": "model",
        "deleted": True,
    }
    gone = client.get("/v1/admin/models/reg-llm/dev", headers=auth)
    assert gone.status_code == 404 and set(gone.json()) == {"status", "error", "code"}
    assert client.delete("/v1/admin/models/reg-llm/dev", headers=auth).status_code == 404


def test_validation(client: Any, auth: dict[str, str]) -> None:
    def post(**fields: Any) -> Any:
        body = {
            "id": "bad/test",
            "endpoint_name": "relay-emu-openai",
            "flavour": "openai",
            "check_endpoint": False,
        }
        return client.post("/v1/admin/models", json={**body, **fields}, headers=auth)

    missing = post(endpoint_name="no-such-endpoint", check_endpoint=True)
    assert missing.status_code == 400 and missing.json()["code"] == "endpoint_not_found"
    assert post(flavour="tei-rerank", type="chat").status_code == 400
    assert post(labels=["a", "b"]).status_code == 400  # labels only for classifiers
    assert post(flavour="classifier", labels=["a", "a"]).status_code == 400
    assert post(flavour="llama").status_code == 400
    assert post(endpoint_name="bad_name!").status_code == 400
    assert post(id="a/b/c").status_code == 400


def test_admin_key_required(client: Any, auth: dict[str, str]) -> None:
    assert client.get("/v1/admin/models").status_code == 401
