"""AWS errors of the control plane's adapters become domain errors at the edge, by code.

A throttled key create is a 429 with Retry-After, not a 500; Step Functions and SageMaker calls
that find nothing to stop or start are plain answers; unknown codes are a 500 keeping their cause.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from fastapi.testclient import TestClient

from relay.backends.sagemaker.control import SageMakerControl
from relay.backends.stepfunctions import StepFunctions, execution_arn
from relay.errors import ConflictError, NotFoundError, RateLimitError, RelayError, ServiceUnavailableError
from relay.http.app import create_control_plane_app
from relay.services.container import Services
from relay.services.keys.auth import Authenticator
from relay.services.keys.dynamodb import DynamoDBApiKeyRepository
from relay.settings import Settings

pytestmark = pytest.mark.unit

ADMIN_KEY = "admin-" + "k" * 40


def client_error(code: str, operation: str = "Call") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "whatever the text says"}}, operation)


class Failing:
    """A boto3 client whose every call raises `error`, recording the calls."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            raise self.error

        return call


def app_with_table(table: Failing) -> TestClient:
    services = Services(Settings(table_name="t", bucket_name="b", admin_secret_id="s"))
    keys = DynamoDBApiKeyRepository(table, "t")
    # cached_property values set on the instance: the app uses these instead of building AWS clients.
    services.__dict__["api_keys"] = keys
    services.__dict__["authenticator"] = Authenticator(lambda: ADMIN_KEY, keys, ttl=60)
    return TestClient(create_control_plane_app(services), raise_server_exceptions=False)


def test_a_throttled_key_create_is_a_429_with_retry_after() -> None:
    table = Failing(client_error("ProvisionedThroughputExceededException", "PutItem"))
    response = app_with_table(table).post("/v1/keys", json={"name": "ci"}, headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 429, response.text
    assert response.json() == {
        "status": 429,
        "error": response.json()["error"],
        "code": "rate_limit_exceeded",
    }
    assert response.headers["Retry-After"] == "1" and table.calls == ["put_item"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (client_error("ThrottlingException"), 429),
        (client_error("InternalServerError"), 503),
        (EndpointConnectionError(endpoint_url="http://dynamodb"), 503),
        (client_error("AccessDeniedException"), 500),
    ],
)
def test_key_listing_maps_table_errors(error: Exception, status: int) -> None:
    response = app_with_table(Failing(error)).get("/v1/keys", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == status and response.json()["status"] == status
    assert "Traceback" not in response.text and "whatever the text says" not in response.text


class StepFunctionsClient:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _call(self, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, kwargs))
        if self.error:
            raise self.error
        return {"executionArn": kwargs.get("executionArn", "arn"), "status": "RUNNING"}

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("start", kwargs)

    def stop_execution(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("stop", kwargs)

    def describe_execution(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("describe", kwargs)


def test_an_execution_is_started_once_by_name() -> None:
    fresh = StepFunctionsClient()
    assert StepFunctions(lambda: fresh).start_execution("arn:sm", "tr-1", {"job_id": "tr-1"})
    assert fresh.calls == [
        ("start", {"stateMachineArn": "arn:sm", "name": "tr-1", "input": '{"job_id": "tr-1"}'})
    ]
    existing = StepFunctionsClient(client_error("ExecutionAlreadyExists"))
    assert StepFunctions(lambda: existing).start_execution("arn:sm", "tr-1", {"job_id": "tr-1"}) is False


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (client_error("ThrottlingException"), RateLimitError),
        (client_error("ServiceUnavailable"), ServiceUnavailableError),
        (EndpointConnectionError(endpoint_url="http://states"), ServiceUnavailableError),
        (client_error("AccessDeniedException"), RelayError),
    ],
)
def test_step_functions_errors_are_domain_errors(error: Exception, raised: type[RelayError]) -> None:
    adapter = StepFunctions(lambda: StepFunctionsClient(error))
    with pytest.raises(raised) as caught:
        adapter.start_execution("arn:sm", "tr-1", {})
    assert caught.value.__cause__ is error
    if raised is RelayError:
        assert caught.value.status == 500 and "AccessDeniedException" in caught.value.message


def test_stopping_or_describing_a_missing_execution_is_an_answer() -> None:
    missing = StepFunctions(lambda: StepFunctionsClient(client_error("ExecutionDoesNotExist")))
    assert missing.stop_execution("arn:x", error="Cancelled", cause="user") is False
    assert missing.describe_execution("arn:x") is None
    running = StepFunctions(lambda: StepFunctionsClient())
    assert running.stop_execution("arn:x", error="Cancelled", cause="user") is True
    described = running.describe_execution("arn:x")
    assert described is not None and described.status == "RUNNING"
    assert execution_arn("arn:aws:states:eu-west-1:1:stateMachine:train", "tr-9") == (
        "arn:aws:states:eu-west-1:1:execution:train:tr-9"
    )


def test_sagemaker_training_control_maps_codes() -> None:
    class Client:
        def __init__(self, error: Exception | None = None) -> None:
            self.error = error

        def stop_training_job(self, **kwargs: Any) -> None:
            if self.error:
                raise self.error

        def describe_training_job(self, **kwargs: Any) -> dict[str, Any]:
            if self.error:
                raise self.error
            return {"TrainingJobStatus": "Failed", "SecondaryStatus": "Failed", "FailureReason": "OOM"}

    def control(error: Exception | None = None) -> SageMakerControl:
        client = Client(error)
        return SageMakerControl(lambda: client)

    assert control().stop_training_job("tr-1") is True
    for code in ("ResourceNotFound", "ValidationException"):  # never created, or already stopped
        assert control(client_error(code)).stop_training_job("tr-1") is False
    state = control().describe_training_job("tr-1")
    assert (state.status, state.secondary_status, state.failure_reason) == ("Failed", "Failed", "OOM")
    with pytest.raises(NotFoundError):
        control(client_error("ResourceNotFound")).describe_training_job("tr-1")
    with pytest.raises(RateLimitError):
        control(client_error("ThrottlingException")).stop_training_job("tr-1")


def test_s3_errors_are_domain_errors() -> None:
    from relay.backends.s3 import S3ObjectStore

    assert S3ObjectStore(Failing(client_error("404", "HeadObject")), "b").head("k") is None
    with pytest.raises(RateLimitError):
        S3ObjectStore(Failing(client_error("SlowDown", "HeadObject")), "b").head("k")
    with pytest.raises(RelayError) as denied:
        S3ObjectStore(Failing(client_error("AccessDenied", "PutObject")), "b").put(
            "k", b"x", sha256_hex="00" * 32
        )
    assert denied.value.status == 500 and isinstance(denied.value.__cause__, ClientError)
    # Gone between the HeadObject that found it and the read: the verification's "upload_incomplete".
    with pytest.raises(ConflictError) as vanished:
        list(S3ObjectStore(Failing(client_error("NoSuchKey", "GetObject")), "b").chunks("k"))
    assert vanished.value.code == "upload_incomplete"
    with pytest.raises(ServiceUnavailableError):
        list(S3ObjectStore(Failing(EndpointConnectionError(endpoint_url="http://s3")), "b").chunks("k"))


def test_a_worker_hand_off_refused_for_an_unknown_reason_is_a_500_not_a_raw_error() -> None:
    from relay.backends.worker import LambdaWorker

    busy = Failing(client_error("TooManyRequestsException", "Invoke"))
    with pytest.raises(ServiceUnavailableError, match="busy"):
        LambdaWorker(lambda: busy, "worker").submit({"step": "verify_dataset"})
    missing = Failing(client_error("ResourceNotFoundException", "Invoke"))
    with pytest.raises(RelayError) as caught:
        LambdaWorker(lambda: missing, "worker").submit({"step": "verify_dataset"})
    assert caught.value.status == 500 and "ResourceNotFoundException" in caught.value.message
