"""The model registry package: registration rules, the endpoint check, the DynamoDB adapter."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from relay.backends.sagemaker.endpoints import UNKNOWN, EndpointDirectory
from relay.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
)
from relay.protocol.registry import RegisterModelRequest
from relay.services.registry.dynamodb import DynamoDBModelRegistry
from relay.services.registry.repository import InMemoryModelRegistry
from relay.services.registry.service import ModelRegistration
from relay.targets import SageMakerTarget

pytestmark = pytest.mark.unit


class Endpoints:
    def __init__(self, status: str | None) -> None:
        self._status = status

    def status(self, endpoint_name: str) -> str | None:
        return self._status


def register(status: str | None, **fields: Any) -> Any:
    registration = ModelRegistration(InMemoryModelRegistry(), Endpoints(status))
    body = {"id": "qwen", "endpoint_name": "e-qwen", "flavour": "openai", **fields}
    return registration.register(RegisterModelRequest.model_validate(body))


def test_registration_checks_the_endpoint() -> None:
    assert register("InService").endpoint_status == "InService"
    assert register(UNKNOWN).endpoint_status == UNKNOWN  # could not tell: registered anyway
    with pytest.raises(BadRequestError) as missing:
        register(None)
    assert missing.value.code == "endpoint_not_found" and missing.value.param == "endpoint_name"
    with pytest.raises(BadRequestError) as failed:
        register("Failed")
    assert failed.value.code == "endpoint_unusable"
    assert register(None, check_endpoint=False).endpoint_status == UNKNOWN


class SageMaker:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return {"EndpointName": EndpointName, "EndpointStatus": "Updating"}


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "DescribeEndpoint")


def test_endpoint_statuses_from_describe_endpoint() -> None:
    def status(error: Exception | None) -> str | None:
        return EndpointDirectory(lambda: SageMaker(error)).status("e-qwen")

    assert status(None) == "Updating"
    missing = 'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e-qwen".'
    assert status(_client_error("ValidationException", missing)) is None
    assert status(_client_error("ValidationException", "1 validation error detected")) == UNKNOWN
    assert status(_client_error("AccessDeniedException", "not authorized")) == UNKNOWN
    assert status(EndpointConnectionError(endpoint_url="https://api.sagemaker")) == UNKNOWN


def test_dynamodb_registry_round_trip_with_deployment_fields(moto_table: Any) -> None:
    registry = DynamoDBModelRegistry(moto_table, "relay")
    deployed = SageMakerTarget(
        id="ft/v1",
        endpoint_name="engine-1",
        flavour="classifier",
        type="classification",
        created_at=7,
        inference_component="dp-1-component",
        labels=("no", "yes"),
        parameter_template={"temperature": 0.2},
        metadata={"served_model_name": "ft"},
        deployment_id="dp-1",
        status="InService",
    )
    plain = SageMakerTarget(
        id="qwen/dev", endpoint_name="e-qwen", flavour="openai", type="chat", created_at=1
    )
    registry.put(deployed)
    registry.put(plain)
    assert registry.get("ft/v1") == deployed
    assert registry.get("qwen") == plain  # a bare name means name/dev
    assert [t.id for t in registry.list()] == ["ft/v1", "qwen/dev"]
    with pytest.raises(ConflictError):
        registry.put(plain)
    registry.put(plain, overwrite=True)
    registry.delete("qwen/dev")
    with pytest.raises(NotFoundError) as gone:
        registry.delete("qwen/dev")
    assert gone.value.code == "model_not_found"
    assert registry.get("qwen/dev") is None


class Unreachable:
    def get_item(self, **kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    def query(self, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Query")


def test_dynamodb_registry_read_failures_are_503() -> None:
    registry = DynamoDBModelRegistry(Unreachable(), "relay")
    with pytest.raises(ServiceUnavailableError) as unreachable:
        registry.get("qwen/dev")
    assert unreachable.value.headers["Retry-After"] == "2"
    with pytest.raises(ServiceUnavailableError, match="model registry"):
        registry.list()


def test_registration_get_of_an_unknown_model_is_404() -> None:
    with pytest.raises(NotFoundError) as caught:
        ModelRegistration(InMemoryModelRegistry(), Endpoints("InService")).get("nope")
    assert caught.value.status == 404 and caught.value.code == "object_not_found"
