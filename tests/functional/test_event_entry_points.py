"""The non-HTTP entry points on the local stack: SQS, EventBridge, S3 objects and direct invoke.

Each test sends what a user would send (the samples in events/triggers/), through moto, and
waits for the answer where the user would read it: the response queue, a rule of their own,
the bucket, the invoke's return value.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.functional

TRIGGERS = Path(__file__).resolve().parents[2] / "events" / "triggers"
CHAT_MODEL = "amazon.nova-lite-v1:0"


def sample(name: str) -> Any:
    return json.loads((TRIGGERS / name).read_text(encoding="utf-8"))


def chat_line(custom_id: str, content: str = "hello", model: str = CHAT_MODEL) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def wait_for(probe: Callable[[], Any], timeout: float = 30.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"nothing arrived within {timeout} s")


@pytest.fixture(scope="module")
def names(local_stack: Any) -> dict[str, str]:
    return dict(local_stack.resources.names)


@pytest.fixture(scope="module")
def sqs(local_stack: Any) -> Any:
    return boto3.client("sqs")


class Replies:
    """Messages on a queue, kept by RequestMessageId (other tests' replies are set aside, not lost)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs, self.url, self.seen = sqs, url, {}

    def for_message(self, message_id: str, timeout: float = 30.0) -> tuple[dict[str, Any], dict[str, str]]:
        def probe() -> Any:
            for message in self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
            ).get("Messages", []):
                attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
                self.seen[attributes.get("RequestMessageId")] = (json.loads(message["Body"]), attributes)
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            return self.seen.get(message_id)

        return wait_for(probe, timeout)


@pytest.fixture(scope="module")
def replies(sqs: Any, names: dict[str, str]) -> Replies:
    return Replies(sqs, names["ResponseQueue"])


def test_an_sqs_message_is_answered_on_the_response_queue(
    sqs: Any, names: dict[str, str], replies: Replies
) -> None:
    body = sample("sqs-request.json")["Records"][0]["body"]
    sent = sqs.send_message(QueueUrl=names["RequestQueue"], MessageBody=body)["MessageId"]
    result, attributes = replies.for_message(sent)
    assert attributes["CustomId"] == "doc-7" == result["custom_id"]
    assert result["error"] is None
    assert result["response"]["status_code"] == 200
    assert result["response"]["body"]["object"] == "list"
    assert result["response"]["body"]["data"][0]["embedding"]


def test_a_chat_line_on_the_queue_gets_a_chat_completion(
    sqs: Any, names: dict[str, str], replies: Replies
) -> None:
    sent = sqs.send_message(QueueUrl=names["RequestQueue"], MessageBody=json.dumps(chat_line("c-1")))
    result, _ = replies.for_message(sent["MessageId"])
    assert result["response"]["body"]["object"] == "chat.completion"
    assert result["response"]["body"]["choices"][0]["message"]["content"]


def test_a_bad_message_is_answered_with_an_error_not_lost(
    sqs: Any, names: dict[str, str], replies: Replies
) -> None:
    sent = sqs.send_message(QueueUrl=names["RequestQueue"], MessageBody="this is not a request line")
    result, _ = replies.for_message(sent["MessageId"])
    assert result["response"] is None
    assert result["error"]["code"] == "invalid_request"
    assert "not JSON" in result["error"]["message"]


def test_an_unknown_model_is_a_404_response_line(sqs: Any, names: dict[str, str], replies: Replies) -> None:
    line = chat_line("c-404", model="no-such-model")
    sent = sqs.send_message(QueueUrl=names["RequestQueue"], MessageBody=json.dumps(line))
    result, _ = replies.for_message(sent["MessageId"])
    assert result["response"]["status_code"] == 404
    assert result["response"]["body"]["error"]["code"] == "model_not_found"


def test_a_reply_to_queue_the_stack_does_not_allow_is_refused_on_the_response_queue(
    sqs: Any, names: dict[str, str], replies: Replies
) -> None:
    mine = sqs.create_queue(QueueName=f"mine-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=mine, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sent = sqs.send_message(
        QueueUrl=names["RequestQueue"],
        MessageBody=json.dumps(chat_line("c-reply")),
        MessageAttributes={"ReplyTo": {"DataType": "String", "StringValue": arn}},
    )
    result, _ = replies.for_message(sent["MessageId"])
    assert result["custom_id"] == "c-reply"
    assert result["error"]["code"] == "reply_to_not_allowed"
    assert not sqs.receive_message(QueueUrl=mine, WaitTimeSeconds=0).get("Messages")


def test_a_transient_fault_is_retried_through_the_queue_then_answered(
    local_stack: Any, sqs: Any, names: dict[str, str], replies: Replies
) -> None:
    from local import functions

    worker = functions.module_of("relay-local-requestsqueuefunction")._worker
    dispatcher = worker._dispatcher
    calls: list[int] = []
    original = dispatcher.dispatch

    async def counting(raw: Any, *, entry_point: str) -> Any:
        if "[[fault:throttle]]" in str(raw):
            calls.append(1)
        return await original(raw, entry_point=entry_point)

    dispatcher.dispatch = counting
    try:
        line = chat_line("c-throttle", content="[[fault:throttle]] please")
        sent = sqs.send_message(QueueUrl=names["RequestQueue"], MessageBody=json.dumps(line))["MessageId"]
        result, _ = replies.for_message(sent, timeout=60)
    finally:
        del dispatcher.dispatch
    assert result["error"]["code"] == "rate_limit_exceeded"
    assert result["response"] is None
    # Handed back to the queue until its last allowed receive (RequestMaxReceives), then answered.
    assert len(calls) == int(local_stack.resources.environment["RELAY_REQUEST_MAX_RECEIVES"])
    dlq = sqs.receive_message(QueueUrl=names["RequestDeadLetterQueue"], WaitTimeSeconds=0)
    assert not dlq.get("Messages")


def test_a_bus_event_is_answered_with_a_relay_response_to_a_users_rule(
    local_stack: Any, sqs: Any, names: dict[str, str]
) -> None:
    events = boto3.client("events")
    bus = names["EventBus"]
    inbox = sqs.create_queue(QueueName=f"responses-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    rule = f"my-responses-{uuid.uuid4().hex[:8]}"
    pattern = {"source": ["relay"], "detail-type": ["Relay Response"]}
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "inbox", "Arn": inbox_arn}])
    try:
        event = sample("eventbridge-request.json")
        events.put_events(
            Entries=[
                {
                    "EventBusName": bus,
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                }
            ]
        )

        def probe() -> Any:
            got = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=1).get("Messages", [])
            return [json.loads(m["Body"]) for m in got]

        (delivered,) = wait_for(probe)
    finally:
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=["inbox"])
        events.delete_rule(Name=rule, EventBusName=bus)
    assert delivered["source"] == "relay" and delivered["detail-type"] == "Relay Response"
    assert delivered["detail"]["custom_id"] == "ticket-1042"
    assert delivered["detail"]["response"]["body"]["object"] == "chat.completion"


def test_a_jsonl_object_under_batch_input_produces_output_and_error_objects(names: dict[str, str]) -> None:
    s3 = boto3.client("s3")
    bucket = names["Bucket"]
    name = f"tickets-{uuid.uuid4().hex[:8]}"
    lines = [chat_line("t-1", "first"), chat_line("t-2", model="no-such-model"), chat_line("t-3", "third")]
    body = "\n".join(json.dumps(line) for line in lines) + "\n\n{broken\n"
    s3.put_object(Bucket=bucket, Key=f"batch/input/{name}.jsonl", Body=body.encode())

    def read(key: str) -> list[dict[str, Any]] | None:
        try:
            text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        except s3.exceptions.NoSuchKey:
            return None
        return [json.loads(x) for x in text.splitlines()]

    output = wait_for(lambda: read(f"batch/output/{name}.jsonl"))
    errors = read(f"batch/output/{name}.errors.jsonl")
    by_id = {line["custom_id"]: line for line in output}
    assert len(output) == 4  # the blank line is skipped, the broken one answered
    assert by_id["t-1"]["response"]["body"]["choices"][0]["message"]["content"]
    assert by_id["t-3"]["response"]["status_code"] == 200
    assert by_id["t-2"]["response"]["status_code"] == 404
    assert errors is not None
    assert sorted(str(e["custom_id"]) for e in errors) == ["None", "t-2"]
    broken = next(e for e in errors if e["custom_id"] is None)
    assert broken["error"]["code"] == "invalid_request"


def test_a_direct_invoke_returns_the_result_line(local_stack: Any) -> None:
    from local import state

    outputs = state.local_outputs(local_stack.resources.names, "us-east-1", "http://x/v1")
    client = boto3.client("lambda")
    answer = client.invoke(
        FunctionName=outputs["InvokeFunctionName"], Payload=json.dumps(sample("invoke-request.json"))
    )
    assert "FunctionError" not in answer
    result = json.loads(answer["Payload"].read())
    assert result["custom_id"] == "ticket-1042"
    assert result["response"]["status_code"] == 200
    assert result["response"]["body"]["choices"][0]["message"]["content"]


def test_a_direct_invoke_of_something_else_returns_an_error_line_not_a_trace(local_stack: Any) -> None:
    client = boto3.client("lambda")
    answer = client.invoke(FunctionName="relay-local-invokefunction", Payload=json.dumps({"hello": "world"}))
    assert "FunctionError" not in answer
    result = json.loads(answer["Payload"].read())
    assert result["response"] is None
    assert result["error"]["code"] == "invalid_request"
    assert "stackTrace" not in result


def test_the_state_file_outputs_name_the_local_queues_bus_and_function(local_stack: Any, sqs: Any) -> None:
    from local import state

    outputs = state.local_outputs(local_stack.resources.names, "us-east-1", "http://x/v1")
    for key in ("RequestQueueUrl", "ResponseQueueUrl", "EventBusName", "InvokeFunctionName"):
        assert outputs[key], key
    assert sqs.get_queue_attributes(QueueUrl=outputs["RequestQueueUrl"], AttributeNames=["RedrivePolicy"])
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=outputs["RequestQueueUrl"], AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )
    assert redrive["deadLetterTargetArn"].endswith(":relay-local-requestdeadletterqueue")
    boto3.client("events").describe_event_bus(Name=outputs["EventBusName"])


def test_a_message_naming_a_team_key_runs_as_that_key(
    client: Any, auth: dict[str, str], sqs: Any, names: dict[str, str], replies: Replies
) -> None:
    created = client.post(
        "/v1/keys", json={"name": "queue team", "allowed_models": [CHAT_MODEL]}, headers=auth
    )
    assert created.status_code == 201, created.text
    key_id = created.json()["id"]

    def send(line: dict[str, Any], key: str) -> str:
        attributes = {"RelayKeyId": {"DataType": "String", "StringValue": key}}
        sent = sqs.send_message(
            QueueUrl=names["RequestQueue"], MessageBody=json.dumps(line), MessageAttributes=attributes
        )
        return str(sent["MessageId"])

    allowed = send(chat_line("k-ok"), key_id)
    refused = send(chat_line("k-no", model="meta.llama3-1-8b-instruct-v1:0"), key_id)
    unknown = send(chat_line("k-unknown"), "nosuchkey123")
    assert replies.for_message(allowed)[0]["response"]["status_code"] == 200
    answer = replies.for_message(refused)[0]["response"]
    assert answer["status_code"] == 403 and answer["body"]["error"]["code"] == "model_not_allowed"
    assert replies.for_message(unknown)[0]["error"]["code"] == "invalid_api_key"
    usage = client.get("/v1/usage", params={"group_by": "key"}, headers=auth).json()["data"]
    mine = [row for row in usage if row.get("key_id") == key_id]
    assert mine and mine[0]["input_tokens"] > 0  # the answered line's tokens are that key's usage


def test_the_s3_sample_event_run_through_the_function_answers_its_object(names: dict[str, str]) -> None:
    """events/triggers/s3-object-created.json, as `sam local invoke` would send it (bucket made local)."""
    from local import functions

    s3 = boto3.client("s3")
    event = sample("s3-object-created.json")
    event["detail"]["bucket"]["name"] = names["Bucket"]
    key = event["detail"]["object"]["key"]
    s3.put_object(Bucket=names["Bucket"], Key=key, Body=(json.dumps(chat_line("s-1")) + "\n").encode())
    answer = functions.invoke("relay-local-requestseventsfunction", event)
    assert "FunctionError" not in answer, answer
    assert answer["Payload"] == {"output_key": "batch/output/tickets.jsonl", "error_key": None, "total": 1}
    body = s3.get_object(Bucket=names["Bucket"], Key="batch/output/tickets.jsonl")["Body"].read()
    assert json.loads(body)["custom_id"] == "s-1"


def test_the_sqs_sample_event_run_through_the_function_reports_no_failures(names: dict[str, str]) -> None:
    from local import functions

    answer = functions.invoke("relay-local-requestsqueuefunction", sample("sqs-request.json"))
    assert "FunctionError" not in answer, answer
    assert answer["Payload"] == {"batchItemFailures": []}
