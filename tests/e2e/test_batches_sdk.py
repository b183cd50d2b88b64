"""OpenAI's Batch API judged by the openai SDK, run on the local stack (request queue included)."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import openai
import pytest

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
MODEL = "amazon.nova-lite-v1:0"


def line(custom_id: str, content: str, model: str = MODEL, url: str = CHAT) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def upload(client: Any, lines: list[Any], name: str = "batch.jsonl") -> Any:
    text = "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in lines)
    return client.files.create(file=(name, io.BytesIO(text.encode())), purpose="batch")


def wait(client: Any, batch_id: str, statuses: set[str], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.batches.retrieve(batch_id)
        if batch.status in statuses:
            return batch
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} still {batch.status}")


def jsonl(client: Any, file_id: str) -> dict[str, Any]:
    lines = [json.loads(x) for x in client.files.content(file_id).read().decode().splitlines()]
    return {x["custom_id"]: x for x in lines}


def test_a_chat_batch_completes_with_output_and_error_files(openai_client: Any) -> None:
    lines = [line(f"req-{n}", f"question {n}") for n in range(4)]
    lines.insert(2, line("req-bad", "hello", model="no-such-model"))
    source = upload(openai_client, lines)
    batch = openai_client.batches.create(
        input_file_id=source.id, endpoint=CHAT, completion_window="24h", metadata={"run": "nightly"}
    )
    assert batch.id.startswith("batch_") and batch.object == "batch"
    assert batch.status == "validating" and batch.metadata == {"run": "nightly"}
    assert batch.expires_at == batch.created_at + 24 * 3600
    done = wait(openai_client, batch.id, {"completed", "failed"})
    assert done.status == "completed", done
    counts = done.request_counts
    assert (counts.total, counts.completed, counts.failed) == (5, 4, 1)
    assert done.in_progress_at and done.finalizing_at and done.completed_at
    assert done.usage.input_tokens > 0 and done.usage.total_tokens > done.usage.input_tokens
    output = jsonl(openai_client, done.output_file_id)
    assert sorted(output) == ["req-0", "req-1", "req-2", "req-3"]
    for custom_id, result in output.items():
        assert result["response"]["status_code"] == 200
        assert result["response"]["body"]["choices"][0]["message"]["content"], custom_id
    errors = jsonl(openai_client, done.error_file_id)
    assert list(errors) == ["req-bad"]
    assert errors["req-bad"]["response"]["status_code"] == 404
    assert errors["req-bad"]["response"]["body"]["error"]["code"] == "model_not_found"
    assert openai_client.files.retrieve(done.output_file_id).purpose == "batch_output"
    assert batch.id in [b.id for b in openai_client.batches.list()]


def test_an_embeddings_batch(openai_client: Any) -> None:
    url = "/v1/embeddings"
    lines = [
        {
            "custom_id": f"e-{n}",
            "method": "POST",
            "url": url,
            "body": {"model": "amazon.titan-embed-text-v2:0", "input": f"text {n}"},
        }
        for n in range(3)
    ]
    batch = openai_client.batches.create(
        input_file_id=upload(openai_client, lines).id, endpoint=url, completion_window="24h"
    )
    done = wait(openai_client, batch.id, {"completed", "failed"})
    assert done.status == "completed" and done.request_counts.completed == 3
    assert done.error_file_id is None
    output = jsonl(openai_client, done.output_file_id)
    assert all(r["response"]["body"]["data"][0]["embedding"] for r in output.values())


def test_a_malformed_file_fails_with_line_errors_before_anything_runs(openai_client: Any) -> None:
    lines: list[Any] = [
        line("ok", "fine"),
        "{not json",
        line("ok", "duplicate id"),
        {**line("get", "x"), "method": "GET"},
        line("other-url", "x", url="/v1/embeddings"),
        {"custom_id": "no-model", "method": "POST", "url": CHAT, "body": {"messages": []}},
    ]
    batch = openai_client.batches.create(
        input_file_id=upload(openai_client, lines).id, endpoint=CHAT, completion_window="24h"
    )
    done = wait(openai_client, batch.id, {"failed", "completed", "in_progress"})
    assert done.status == "failed" and done.failed_at
    errors = {(e.line, e.code) for e in done.errors.data}
    assert errors == {
        (2, "invalid_json_line"),
        (3, "duplicate_custom_id"),
        (4, "invalid_method"),
        (5, "mismatched_url"),
        (6, "missing_required_parameter"),
    }
    assert done.output_file_id is None and done.request_counts.completed == 0


def test_cancel_stops_dispatching_and_finalizes_what_finished(openai_client: Any) -> None:
    lines = [line(f"slow-{n}", f"[[delay:400]] question {n}") for n in range(60)]
    batch = openai_client.batches.create(
        input_file_id=upload(openai_client, lines).id, endpoint=CHAT, completion_window="24h"
    )
    wait(openai_client, batch.id, {"in_progress"})
    cancelling = openai_client.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled") and cancelling.cancelling_at
    done = wait(openai_client, batch.id, {"cancelled"})
    assert done.cancelled_at
    assert done.request_counts.completed < 60  # what was not dispatched never ran
    if done.request_counts.completed:
        assert len(jsonl(openai_client, done.output_file_id)) == done.request_counts.completed
    assert openai_client.batches.cancel(batch.id).status == "cancelled"


def test_refusals(openai_client: Any) -> None:
    with pytest.raises(openai.NotFoundError):
        openai_client.batches.create(
            input_file_id="file-000000000000000000000000", endpoint=CHAT, completion_window="24h"
        )
    source = upload(openai_client, [line("a", "b")])
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.batches.create(
            input_file_id=source.id, endpoint="/v1/images/generations", completion_window="24h"
        )
    assert caught.value.body["param"] == "endpoint"
    with pytest.raises(openai.BadRequestError):
        openai_client.batches.create(input_file_id=source.id, endpoint=CHAT, completion_window="48h")
    with pytest.raises(openai.BadRequestError):
        openai_client.batches.create(
            input_file_id=source.id,
            endpoint=CHAT,
            completion_window="24h",
            metadata={str(n): "v" for n in range(17)},
        )
    with pytest.raises(openai.NotFoundError):
        openai_client.batches.retrieve("batch_000000000000000000000000")


def test_a_team_keys_batch_runs_as_that_key(live_server: str, admin_key: str, openai_client: Any) -> None:
    """Its model allow-list applies to every line, and the lines' tokens are its usage."""
    import httpx

    admin_client = openai_client

    created = httpx.post(
        f"{live_server}/keys",
        json={"name": "batch team", "allowed_models": [MODEL]},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert created.status_code == 201, created.text
    key = created.json()
    team = openai.OpenAI(base_url=live_server, api_key=key["key"], max_retries=0, timeout=30)
    lines = [
        line("ok-1", "hello"),
        line("ok-2", "again"),
        line("no", "hi", model="meta.llama3-1-8b-instruct-v1:0"),
    ]
    batch = team.batches.create(input_file_id=upload(team, lines).id, endpoint=CHAT, completion_window="24h")
    done = wait(team, batch.id, {"completed", "failed"})
    assert (done.request_counts.completed, done.request_counts.failed) == (2, 1)
    refused = jsonl(team, done.error_file_id)["no"]["response"]
    assert refused["status_code"] == 403 and refused["body"]["error"]["code"] == "model_not_allowed"
    rows = httpx.get(
        f"{live_server}/usage", params={"group_by": "key"}, headers={"Authorization": f"Bearer {key['key']}"}
    ).json()["data"]
    assert len(rows) == 1 and rows[0]["key_id"] == key["id"]
    assert rows[0]["input_tokens"] == done.usage.input_tokens
    assert rows[0]["input_tokens"] + rows[0]["output_tokens"] == done.usage.total_tokens
    assert batch.id not in [b.id for b in admin_client.batches.list()]  # a key sees its own batches
    with pytest.raises(openai.NotFoundError):
        admin_client.batches.retrieve(batch.id)
