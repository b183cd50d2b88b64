"""`/v1/responses` lines on the local stack: on the request queue, and as a Batch API batch.

The queue's answers are read where a user reads them (the response queue); the batch is driven
by the `openai` SDK over the in-process app, and its output file read back through it.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import boto3
import openai
import pytest

from tests.functional.test_event_entry_points import Replies

pytestmark = pytest.mark.functional

URL = "/v1/responses"
MODEL = "amazon.nova-lite-v1:0"


def responses_line(custom_id: str, text: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": URL,
        "body": {"model": MODEL, "input": text, **body},
    }


@pytest.fixture(scope="module")
def names(local_stack: Any) -> dict[str, str]:
    return dict(local_stack.resources.names)


@pytest.fixture(scope="module")
def sqs(local_stack: Any) -> Any:
    return boto3.client("sqs")


@pytest.fixture(scope="module")
def replies(sqs: Any, names: dict[str, str]) -> Replies:
    return Replies(sqs, names["ResponseQueue"])


@pytest.fixture()
def sdk(client: Any, admin_key: str) -> openai.OpenAI:
    """The openai SDK over the in-process app (the TestClient is an httpx.Client)."""
    return openai.OpenAI(
        base_url="http://testserver/v1", api_key=admin_key, max_retries=0, http_client=client
    )


def send(sqs: Any, names: dict[str, str], line: dict[str, Any], key_id: str | None = None) -> str:
    attributes = {"RelayKeyId": {"DataType": "String", "StringValue": key_id}} if key_id else {}
    sent = sqs.send_message(
        QueueUrl=names["RequestQueue"], MessageBody=json.dumps(line), MessageAttributes=attributes
    )
    return str(sent["MessageId"])


def output_text(body: dict[str, Any]) -> str:
    return "".join(
        part["text"]
        for item in body["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )


def test_a_responses_line_on_the_queue_gets_a_response_object(
    sqs: Any, names: dict[str, str], replies: Replies, client: Any, auth: dict[str, str]
) -> None:
    result, attributes = replies.for_message(send(sqs, names, responses_line("r-1", "hello")))
    assert attributes["CustomId"] == "r-1" == result["custom_id"]
    assert result["error"] is None and result["response"]["status_code"] == 200
    body = result["response"]["body"]
    assert body["object"] == "response" and body["id"].startswith("resp_")
    assert body["status"] == "completed" and output_text(body)
    assert body["usage"]["total_tokens"] > 0
    # Stored (store defaults to true) under no key: another keyless line continues it ...
    follow = responses_line("r-2", "and then?", previous_response_id=body["id"])
    continued, _ = replies.for_message(send(sqs, names, follow))
    assert continued["response"]["status_code"] == 200, continued
    assert continued["response"]["body"]["previous_response_id"] == body["id"]
    # ... while over HTTP it is a 404 for every key, the admin key included.
    assert client.get(f"/v1/responses/{body['id']}", headers=auth).status_code == 404


def test_a_streaming_responses_line_is_a_400_result(
    sqs: Any, names: dict[str, str], replies: Replies
) -> None:
    result, _ = replies.for_message(send(sqs, names, responses_line("r-stream", "hi", stream=True)))
    assert result["response"]["status_code"] == 400
    assert result["response"]["body"]["error"]["param"] == "stream"


def test_a_line_naming_a_key_stores_its_response_for_that_key(
    sqs: Any, names: dict[str, str], replies: Replies, client: Any, auth: dict[str, str]
) -> None:
    created = client.post("/v1/keys", json={"name": "responses queue team"}, headers=auth)
    assert created.status_code == 201, created.text
    key = created.json()
    result, _ = replies.for_message(send(sqs, names, responses_line("r-key", "hello"), key["id"]))
    response_id = result["response"]["body"]["id"]
    mine = client.get(f"/v1/responses/{response_id}", headers={"Authorization": f"Bearer {key['key']}"})
    assert mine.status_code == 200 and mine.json()["id"] == response_id
    assert mine.json()["output"] == result["response"]["body"]["output"]
    assert client.get(f"/v1/responses/{response_id}", headers=auth).status_code == 404
    unstored, _ = replies.for_message(
        send(sqs, names, responses_line("r-nostore", "hello", store=False), key["id"])
    )
    gone = unstored["response"]["body"]["id"]
    assert (
        client.get(f"/v1/responses/{gone}", headers={"Authorization": f"Bearer {key['key']}"}).status_code
        == 404
    )


def wait(sdk: openai.OpenAI, batch_id: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = sdk.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} still {batch.status}")


def test_a_responses_batch_completes_with_response_objects_in_its_output_file(sdk: openai.OpenAI) -> None:
    lines = [responses_line(f"b-{n}", f"question {n}") for n in range(3)]
    lines.append(responses_line("b-bad", "hello", model="no-such-model"))
    text = "".join(json.dumps(line) + "\n" for line in lines)
    source = sdk.files.create(file=("responses.jsonl", io.BytesIO(text.encode())), purpose="batch")
    batch = sdk.batches.create(input_file_id=source.id, endpoint=URL, completion_window="24h")
    assert batch.endpoint == URL and batch.status == "validating"
    done = wait(sdk, batch.id)
    assert done.status == "completed", done
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (4, 3, 1)
    assert done.usage is not None and done.usage.input_tokens > 0
    assert done.output_file_id is not None and done.error_file_id is not None
    output = [json.loads(x) for x in sdk.files.content(done.output_file_id).text.splitlines()]
    assert sorted(x["custom_id"] for x in output) == ["b-0", "b-1", "b-2"]
    for result in output:
        assert result["response"]["status_code"] == 200
        # The body is what POST /v1/responses answers: the SDK's own Response type reads it.
        response = openai.types.responses.Response.model_validate(result["response"]["body"])
        assert response.object == "response" and response.status == "completed"
        assert response.output_text and response.usage is not None
        # Stored for the key that created the batch, as POST /v1/responses stores for its caller.
        assert sdk.responses.retrieve(response.id).output_text == response.output_text
    (refused,) = [json.loads(x) for x in sdk.files.content(done.error_file_id).text.splitlines()]
    assert refused["custom_id"] == "b-bad"
    assert refused["response"]["status_code"] == 404
    assert refused["response"]["body"]["error"]["code"] == "model_not_found"
