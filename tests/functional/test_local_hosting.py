"""The local SageMaker hosting stand-in, driven with boto3 only: a tiny-local checkpoint deployed as an
inference component, served for real on CPU through sagemaker-runtime, scaled to 0 and back, deleted."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.tiny_model import SPECIAL_TOKENS, VOCABULARY

# Trains or serves tiny-local: one such test at a time, all on one pytest-xdist worker (Makefile).
pytestmark = [pytest.mark.functional, pytest.mark.xdist_group("tiny-models")]

REPO = Path(__file__).resolve().parents[2]
TRAINING_PYTHON = REPO / ".venv-train" / "bin" / "python"
LMI_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.33.0-lmi15.0.0-cu128"
ROLE = "arn:aws:iam::123456789012:role/relay-local-hosting"
CHECKPOINT = "tests/hosting/chat-checkpoint/"
WORDS = set(VOCABULARY) | set(SPECIAL_TOKENS)

if not TRAINING_PYTHON.exists():
    pytest.skip("the serving processes need .venv-train (make training)", allow_module_level=True)


def wait(describe: Any, key: str, wanted: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described = describe()
        if described[key] == wanted:
            return dict(described)
        assert described[key] != "Failed", described.get("FailureReason")
        assert time.monotonic() < deadline, f"still {described[key]} after {timeout}s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def sagemaker(local_stack: Any) -> Any:
    return boto3.client("sagemaker")


@pytest.fixture(scope="module")
def runtime(local_stack: Any) -> Any:
    return boto3.client("sagemaker-runtime")


@pytest.fixture(scope="module")
def checkpoint(local_stack: Any) -> str:
    """A merged tiny-local checkpoint on S3, laid out as the trainer writes one (weights, tokenizer, metadata)."""
    from local import base_models

    assert base_models.wait_ready() is None
    s3, bucket = boto3.client("s3"), local_stack.resources.environment["RELAY_BUCKET_NAME"]
    base = base_models.PREFIX + base_models.LOCAL_MODEL + "/"
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=base)["Contents"]:
        key = CHECKPOINT + item["Key"][len(base) :]
        s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": item["Key"]})
    metadata = {"task_type": "text-generation", "training_technique": "SFT", "base_model": "tiny-local"}
    s3.put_object(
        Bucket=bucket, Key=CHECKPOINT + "relay_model.json", Body=json.dumps({**metadata, "adapter": False})
    )
    return f"s3://{bucket}/{CHECKPOINT}"


def missing(call: Any) -> bool:
    try:
        call()
    except ClientError as error:
        if "Could not find" in error.response["Error"]["Message"]:
            return True
        raise
    return False


def create_endpoint(sagemaker: Any, checkpoint: str) -> None:
    if missing(lambda: sagemaker.describe_model(ModelName="hosting-chat-model")):
        sagemaker.create_model(
            ModelName="hosting-chat-model",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": LMI_IMAGE,
                "ModelDataSource": {
                    "S3DataSource": {"S3Uri": checkpoint, "S3DataType": "S3Prefix", "CompressionType": "None"}
                },
            },
        )
    if missing(lambda: sagemaker.describe_endpoint_config(EndpointConfigName="hosting-chat-config")):
        sagemaker.create_endpoint_config(
            EndpointConfigName="hosting-chat-config",
            ExecutionRoleArn=ROLE,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "InstanceType": "ml.m5.xlarge",
                    "InitialInstanceCount": 1,
                    "ManagedInstanceScaling": {
                        "Status": "ENABLED",
                        "MinInstanceCount": 0,
                        "MaxInstanceCount": 1,
                    },
                    "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
                }
            ],
        )
    sagemaker.create_endpoint(EndpointName="hosting-chat", EndpointConfigName="hosting-chat-config")
    assert sagemaker.describe_endpoint(EndpointName="hosting-chat")["EndpointStatus"] == "Creating"
    wait(lambda: sagemaker.describe_endpoint(EndpointName="hosting-chat"), "EndpointStatus", "InService")


def create_component(sagemaker: Any) -> None:
    sagemaker.create_inference_component(
        InferenceComponentName="hosting-chat-ic",
        EndpointName="hosting-chat",
        VariantName="AllTraffic",
        Specification={
            "ModelName": "hosting-chat-model",
            "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024},
        },
        RuntimeConfig={"CopyCount": 1},
    )
    described = sagemaker.describe_inference_component(InferenceComponentName="hosting-chat-ic")
    assert described["InferenceComponentStatus"] == "Creating"
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 0}


@pytest.fixture()
def component(sagemaker: Any, checkpoint: str) -> str:
    """hosting-chat-ic on the hosting-chat endpoint, InService with one copy whatever the tests before
    left: created by the first test that needs it (again after the delete test), scaled back to one."""
    if missing(lambda: sagemaker.describe_endpoint(EndpointName="hosting-chat")):
        create_endpoint(sagemaker, checkpoint)
    if missing(lambda: sagemaker.describe_inference_component(InferenceComponentName="hosting-chat-ic")):
        create_component(sagemaker)
    described = wait(describe(sagemaker, "hosting-chat-ic"), "InferenceComponentStatus", "InService")
    if described["RuntimeConfig"]["DesiredCopyCount"] != 1:
        sagemaker.update_inference_component_runtime_config(
            InferenceComponentName="hosting-chat-ic", DesiredRuntimeConfig={"CopyCount": 1}
        )
        wait(describe(sagemaker, "hosting-chat-ic"), "InferenceComponentStatus", "InService")
    return "hosting-chat-ic"


def test_every_pinned_serving_image_is_served_for_its_task_type() -> None:
    """The catalogue's pinned hosting images are the ones the stand-in recognises (by ECR repository)."""
    from local.emulators.serving import images

    catalogue = REPO / "layers" / "relay" / "relay" / "catalogue" / "base_models.json"
    pinned = json.loads(catalogue.read_text(encoding="utf-8"))["serving_images"]
    for family, by_task in pinned.items():
        for task, image in by_task.items() if isinstance(by_task, dict) else ():
            kind = images.kind_of(image.format(region="us-east-1"))
            assert kind is not None and task in images.TASKS_BY_KIND[kind], (family, task, image)
    assert images.kind_of("123456789012.dkr.ecr.us-east-1.amazonaws.com/relay-emulated:latest") is None


def describe(sagemaker: Any, name: str) -> Any:
    return lambda: sagemaker.describe_inference_component(InferenceComponentName=name)


def invoke(runtime: Any, body: dict[str, Any], component: str | None = "hosting-chat-ic") -> dict[str, Any]:
    extra = {"InferenceComponentName": component} if component else {}
    reply = runtime.invoke_endpoint(
        EndpointName="hosting-chat", ContentType="application/json", Body=json.dumps(body), **extra
    )
    return dict(json.loads(reply["Body"].read()))


def stream(runtime: Any, body: dict[str, Any]) -> list[Any]:
    reply = runtime.invoke_endpoint_with_response_stream(
        EndpointName="hosting-chat",
        InferenceComponentName="hosting-chat-ic",
        ContentType="application/json",
        Body=json.dumps({**body, "stream": True}),
    )
    data = b"".join(event["PayloadPart"]["Bytes"] for event in reply["Body"] if "PayloadPart" in event)
    frames = [line.removeprefix("data: ") for line in data.decode().split("\n\n") if line]
    return [frame if frame == "[DONE]" else json.loads(frame) for frame in frames]


CHAT = {"messages": [{"role": "user", "content": "what is the capital of france"}], "max_tokens": 8}
SAMPLED = {**CHAT, "temperature": 1.0, "seed": 7}


def test_component_loads_and_answers_chat_from_the_real_tokenizer(
    sagemaker: Any, runtime: Any, component: str
) -> None:
    described = wait(describe(sagemaker, component), "InferenceComponentStatus", "InService")
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 1}
    assert described["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"] == LMI_IMAGE
    answer = invoke(runtime, SAMPLED)
    assert answer["object"] == "chat.completion"
    text = answer["choices"][0]["message"]["content"]
    assert text and set(text.split()) <= WORDS  # words of tiny-local's vocabulary, not an echo
    # <|user|>, six words, </s>, <|assistant|>: the chat template, tokenised by the real tokenizer
    assert answer["usage"]["prompt_tokens"] == 9
    assert answer["usage"]["completion_tokens"] <= 8
    assert invoke(runtime, SAMPLED)["choices"][0]["message"]["content"] == text  # seeded sampling repeats


def test_streamed_chat_sends_token_chunks_matching_the_plain_answer(runtime: Any, component: str) -> None:
    plain = invoke(runtime, SAMPLED)["choices"][0]["message"]["content"]
    frames = stream(runtime, {**SAMPLED, "stream_options": {"include_usage": True}})
    assert frames[-1] == "[DONE]"
    chunks = [f for f in frames[:-1] if f["choices"] and f["choices"][0]["delta"].get("content")]
    assert len(chunks) >= 2
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == plain
    assert frames[-2]["usage"]["completion_tokens"] >= len(chunks)


def test_max_tokens_stop_and_completions(runtime: Any, component: str) -> None:
    greedy = invoke(runtime, {"prompt": "the capital of france is", "max_tokens": 5, "temperature": 0})
    assert greedy["object"] == "text_completion" and greedy["usage"]["prompt_tokens"] == 5
    assert greedy["usage"]["completion_tokens"] == 5 and greedy["choices"][0]["finish_reason"] == "length"
    sampled = invoke(runtime, {"prompt": "one two three", "max_tokens": 6, "temperature": 1.0, "seed": 3})
    words = sampled["choices"][0]["text"].split()
    assert len(words) >= 2
    cut = invoke(
        runtime,
        {"prompt": "one two three", "max_tokens": 6, "temperature": 1.0, "seed": 3, "stop": [words[1]]},
    )
    assert cut["choices"][0]["finish_reason"] == "stop"
    assert cut["choices"][0]["text"].split() == words[:1]


def test_unsupported_parameters_are_refused_by_the_container(runtime: Any, component: str) -> None:
    with pytest.raises(ClientError) as refused:
        invoke(runtime, {**CHAT, "n": 2})
    error = refused.value.response["Error"]
    assert error["Code"] == "ModelError" and "n must be 1" in error["Message"]
    assert refused.value.response["OriginalStatusCode"] == 400


def test_invocation_errors_are_sagemakers(runtime: Any, component: str) -> None:
    for name, expected in ((None, "Inference Component Name header is required"), ("nope", "not found")):
        with pytest.raises(ClientError) as refused:
            invoke(runtime, CHAT, component=name)
        assert refused.value.response["Error"]["Code"] == "ValidationError"
        assert expected in refused.value.response["Error"]["Message"]


def test_invocations_reach_cloudwatch(runtime: Any, component: str, local_stack: Any) -> None:
    invoke(runtime, CHAT)
    local_stack_metrics().flush()
    cloudwatch = boto3.client("cloudwatch")
    statistics = cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Dimensions=[{"Name": "InferenceComponentName", "Value": component}],
        StartTime=time.time() - 600,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=["Sum"],
    )
    assert sum(p["Sum"] for p in statistics["Datapoints"]) >= 1
    query = {
        "Id": "invocations",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "hosting-chat"},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
            },
            "Period": 60,
            "Stat": "Sum",
        },
    }
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[query], StartTime=time.time() - 600, EndTime=time.time() + 60
    )
    assert sum(data["MetricDataResults"][0]["Values"]) >= 1


def local_stack_metrics() -> Any:
    from local.emulators import sagemaker_hosting

    return sagemaker_hosting.metrics()


def test_copy_count_zero_refuses_invocations_then_one_serves_again(
    sagemaker: Any, runtime: Any, component: str
) -> None:
    from local.emulators.serving import process

    wait(describe(sagemaker, component), "InferenceComponentStatus", "InService")
    sagemaker.update_inference_component_runtime_config(
        InferenceComponentName=component, DesiredRuntimeConfig={"CopyCount": 0}
    )
    assert describe(sagemaker, component)()["InferenceComponentStatus"] == "Updating"
    described = wait(describe(sagemaker, component), "InferenceComponentStatus", "InService")
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}
    assert not [p for p in process.live() if p.served_name == component]
    with pytest.raises(ClientError) as refused:
        invoke(runtime, CHAT)
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert "no capacity" in refused.value.response["Error"]["Message"]
    sagemaker.update_inference_component_runtime_config(
        InferenceComponentName=component, DesiredRuntimeConfig={"CopyCount": 1}
    )
    wait(describe(sagemaker, component), "InferenceComponentStatus", "InService")
    assert invoke(runtime, SAMPLED)["choices"][0]["message"]["content"]


def test_update_copies_and_listing_filters(sagemaker: Any, component: str) -> None:
    from local.emulators.serving import process

    wait(describe(sagemaker, component), "InferenceComponentStatus", "InService")
    sagemaker.update_inference_component(InferenceComponentName=component, RuntimeConfig={"CopyCount": 2})
    with pytest.raises(ClientError) as busy:  # one change at a time, as on AWS
        sagemaker.update_inference_component_runtime_config(
            InferenceComponentName=component, DesiredRuntimeConfig={"CopyCount": 1}
        )
    assert busy.value.response["Error"]["Code"] == "ValidationException"
    described = wait(describe(sagemaker, component), "InferenceComponentStatus", "InService")
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    assert len([p for p in process.live() if p.served_name == component]) == 1  # one process serves both
    listed = sagemaker.list_inference_components(EndpointNameEquals="hosting-chat", StatusEquals="InService")
    assert [c["InferenceComponentName"] for c in listed["InferenceComponents"]] == [component]
    assert (
        sagemaker.list_inference_components(StatusEquals="Failed", NameContains="hosting-chat")[
            "InferenceComponents"
        ]
        == []
    )
    page = sagemaker.list_endpoints(
        NameContains="relay-emu", MaxResults=2, SortBy="Name", SortOrder="Ascending"
    )
    assert [e["EndpointName"] for e in page["Endpoints"]] == ["relay-emu-classifier", "relay-emu-openai"]
    rest = sagemaker.list_endpoints(
        NameContains="relay-emu", NextToken=page["NextToken"], SortBy="Name", SortOrder="Ascending"
    )
    assert rest["Endpoints"][0]["EndpointName"] == "relay-emu-tei-embedding"
    assert len(rest["Endpoints"]) == 4 and "NextToken" not in rest


def test_relays_chat_routes_reach_the_component(client: Any, auth: dict[str, str], component: str) -> None:
    body = {"id": "hosted-chat", "endpoint_name": "hosting-chat", "flavour": "openai"}
    body |= {"inference_component": component, "overwrite": True}
    assert client.post("/v1/admin/models", json=body, headers=auth).status_code == 201, "registered"
    chat = {"model": "hosted-chat", **SAMPLED}
    plain = client.post("/v1/chat/completions", json=chat, headers=auth)
    assert plain.status_code == 200, plain.text
    text = plain.json()["choices"][0]["message"]["content"]
    assert text and set(text.split()) <= WORDS
    with client.stream(
        "POST", "/v1/chat/completions", json={**chat, "stream": True}, headers=auth
    ) as streamed:
        lines = [line.removeprefix("data: ") for line in streamed.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    pieces = [
        json.loads(x)["choices"][0]["delta"].get("content") for x in lines[:-1] if json.loads(x)["choices"]
    ]
    assert len([p for p in pieces if p]) >= 2 and "".join(p for p in pieces if p) == text
    client.delete("/v1/admin/models/hosted-chat/dev", headers=auth)


def test_control_errors_are_awss(sagemaker: Any, component: str) -> None:
    cases = [
        (
            lambda: sagemaker.describe_inference_component(InferenceComponentName="missing-ic"),
            "Could not find inference component",
        ),
        (lambda: sagemaker.describe_endpoint(EndpointName="missing-endpoint"), "Could not find endpoint"),
        (lambda: sagemaker.delete_model(ModelName="missing-model"), "Could not find model"),
        (
            lambda: sagemaker.create_endpoint(
                EndpointName="hosting-chat", EndpointConfigName="hosting-chat-config"
            ),
            "Cannot create already existing endpoint",
        ),
        (lambda: sagemaker.delete_endpoint(EndpointName="hosting-chat"), "still hosts inference components"),
        (
            lambda: sagemaker.create_model(
                ModelName="hosting-missing-data",
                ExecutionRoleArn=ROLE,
                PrimaryContainer={"Image": LMI_IMAGE, "ModelDataUrl": "s3://nowhere-bucket/model.tar.gz"},
            ),
            "Could not access model data",
        ),
        (
            lambda: sagemaker.create_model(
                ModelName="hosting-bad-image",
                ExecutionRoleArn=ROLE,
                PrimaryContainer={"Image": "djl-inference:latest"},
            ),
            "is not a valid ECR image URI",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        assert message in refused.value.response["Error"]["Message"]


def test_delete_removes_everything_and_the_serving_process(sagemaker: Any, component: str) -> None:
    from local.emulators.serving import process

    wait(describe(sagemaker, component), "InferenceComponentStatus", "InService")
    assert [p for p in process.live() if p.served_name == component]
    sagemaker.delete_inference_component(InferenceComponentName=component)
    deadline = time.monotonic() + 30
    while sagemaker.list_inference_components(EndpointNameEquals="hosting-chat")["InferenceComponents"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert not [p for p in process.live() if p.served_name == component]
    sagemaker.delete_endpoint(EndpointName="hosting-chat")
    sagemaker.delete_endpoint_config(EndpointConfigName="hosting-chat-config")
    sagemaker.delete_model(ModelName="hosting-chat-model")
    while "hosting-chat" in [
        e["EndpointName"] for e in sagemaker.list_endpoints(NameContains="hosting-chat")["Endpoints"]
    ]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert sagemaker.list_endpoint_configs(NameContains="hosting-chat")["EndpointConfigs"] == []
    assert sagemaker.list_models(NameContains="hosting-chat")["Models"] == []
