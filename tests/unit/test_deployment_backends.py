"""The hosting, Scheduler, CloudWatch and Step Functions adapters: request shapes and error codes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from relay.backends.cloudwatch import CloudWatchMetrics
from relay.backends.sagemaker.hosting import (
    ComponentSpec,
    QuotaExceededError,
    SageMakerHosting,
    map_hosting_error,
)
from relay.backends.scheduler import EventBridgeScheduler
from relay.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    RelayError,
    ServiceUnavailableError,
)

pytestmark = pytest.mark.unit


def client(service: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    ).client(service)


def error(code: str, message: str = "m") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Op")


@pytest.mark.parametrize(
    ("code", "operation", "expected", "status"),
    [
        ("ThrottlingException", "CreateEndpoint", RateLimitError, 429),
        ("ValidationException", "DescribeEndpoint", NotFoundError, 404),
        ("ValidationException", "DeleteInferenceComponent", NotFoundError, 404),
        ("ValidationException", "CreateInferenceComponent", BadRequestError, 400),
        ("ValidationException", "UpdateInferenceComponentRuntimeConfig", ConflictError, 409),
        ("ValidationException", "ListInferenceComponents", NotFoundError, 404),
        ("ResourceLimitExceeded", "CreateEndpointConfig", QuotaExceededError, 429),
        ("ResourceInUse", "DeleteEndpoint", ConflictError, 409),
        ("InternalFailure", "CreateModel", ServiceUnavailableError, 503),
    ],
)
def test_hosting_errors_by_code(code: str, operation: str, expected: type[RelayError], status: int) -> None:
    mapped = map_hosting_error(error(code), operation, "endpoint e", quota="ml.g5.xlarge for endpoint usage")
    assert type(mapped) is expected and mapped.status == status
    if expected is QuotaExceededError:
        assert "ml.g5.xlarge for endpoint usage" in mapped.message and "Service Quotas" in mapped.message


def test_unreachable_sagemaker_is_503() -> None:
    mapped = map_hosting_error(EndpointConnectionError(endpoint_url="http://x"), "CreateModel", "model m")
    assert isinstance(mapped, ServiceUnavailableError)


def test_endpoint_config_scales_to_zero_and_passes_the_role() -> None:
    sagemaker = client("sagemaker")
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "create_endpoint_config",
            {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/p-e"},
            {
                "EndpointConfigName": "p-e",
                "ExecutionRoleArn": "arn:aws:iam::1:role/r",
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "InstanceType": "ml.g5.xlarge",
                        "InitialInstanceCount": 1,
                        "ManagedInstanceScaling": {
                            "Status": "ENABLED",
                            "MinInstanceCount": 0,
                            "MaxInstanceCount": 2,
                        },
                        "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
                    }
                ],
            },
        )
        SageMakerHosting(lambda: sagemaker).create_endpoint_config(
            "p-e",
            role_arn="arn:aws:iam::1:role/r",
            variant_name="AllTraffic",
            instance_type="ml.g5.xlarge",
            max_instances=2,
        )
        stub.assert_no_pending_responses()


def test_adapter_component_sits_on_its_base_and_missing_things_read_as_absent() -> None:
    sagemaker = client("sagemaker")
    hosting = SageMakerHosting(lambda: sagemaker)
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "create_inference_component",
            {"InferenceComponentArn": "arn:aws:sagemaker:us-east-1:1:inference-component/p-dp"},
            {
                "InferenceComponentName": "p-dp",
                "EndpointName": "p-e",
                "VariantName": "AllTraffic",
                "Specification": {
                    "BaseInferenceComponentName": "p-base",
                    "Container": {"ArtifactUrl": "s3://b/ckpt/"},
                },
            },
        )
        stub.add_client_error("describe_inference_component", "ValidationException", "Could not find")
        stub.add_client_error("delete_inference_component", "ValidationException", "Could not find")
        stub.add_client_error("describe_endpoint", "ValidationException", "Could not find")
        stub.add_client_error("create_endpoint", "ResourceLimitExceeded", "limit")
        hosting.create_component(
            ComponentSpec(
                name="p-dp",
                endpoint_name="p-e",
                variant_name="AllTraffic",
                copies=1,
                base_component="p-base",
                artifact_url="s3://b/ckpt/",
            )
        )
        assert hosting.component("p-dp") is None
        assert hosting.delete_component("p-dp") is False
        assert hosting.endpoint_status("p-e") is None
        with pytest.raises(QuotaExceededError, match=r"ml\.g5\.xlarge for endpoint usage"):
            hosting.create_endpoint("p-e", config_name="p-e", quota="ml.g5.xlarge for endpoint usage")


def test_schedule_put_updates_an_existing_one() -> None:
    scheduler = client("scheduler")
    request = {
        "Name": "p-dp-start",
        "GroupName": "g",
        "ScheduleExpression": "cron(0 9 ? * MON *)",
        "ScheduleExpressionTimezone": "Europe/Paris",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": "arn:aws:lambda:us-east-1:1:function:d",
            "RoleArn": "arn:aws:iam::1:role/s",
            "Input": '{"action": "schedule", "id": "dp-1"}',
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
        },
        "State": "ENABLED",
    }
    with Stubber(scheduler) as stub:
        stub.add_client_error("create_schedule", "ConflictException", "exists", expected_params=request)
        stub.add_response("update_schedule", {"ScheduleArn": "arn:aws:scheduler:::schedule/g/p"}, request)
        stub.add_client_error("delete_schedule", "ResourceNotFoundException", "none")
        stub.add_client_error("delete_schedule", "ThrottlingException", "slow")
        adapter = EventBridgeScheduler(lambda: scheduler, "g")
        adapter.put(
            "p-dp-start",
            expression="cron(0 9 ? * MON *)",
            timezone="Europe/Paris",
            target_arn="arn:aws:lambda:us-east-1:1:function:d",
            role_arn="arn:aws:iam::1:role/s",
            payload={"id": "dp-1", "action": "schedule"},
        )
        assert adapter.delete("p-dp-start") is False
        with pytest.raises(RateLimitError):
            adapter.delete("p-dp-start")
        stub.assert_no_pending_responses()


def test_invocations_follow_pages_and_keep_component_names() -> None:
    cloudwatch = client("cloudwatch")
    t0, t1 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC), datetime(2026, 1, 1, 10, 1, tzinfo=UTC)
    with Stubber(cloudwatch) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "m1", "Timestamps": [t0], "Values": [4.0], "StatusCode": "Complete"}
                ],
                "NextToken": "more",
            },
        )
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "m1", "Timestamps": [t1], "Values": [0.0], "StatusCode": "Complete"}
                ]
            },
        )
        found = CloudWatchMetrics(lambda: cloudwatch).invocations(["p-a", "p-b"], start=0, end=100)
    assert found == {"p-a": [], "p-b": [(int(t0.timestamp()), 4.0), (int(t1.timestamp()), 0.0)]}
