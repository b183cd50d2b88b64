"""Batches on in-memory fakes: the status table, validation, and the runner's feed, bound and finish."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from relay.backends.s3 import InMemoryObjectStore
from relay.backends.s3_uploads import InMemoryUploads
from relay.backends.sqs import InMemoryQueues
from relay.backends.worker import InMemoryWorker
from relay.errors import BadRequestError, ConflictError, NotFoundError
from relay.protocol.batches import CreateBatchRequest
from relay.services.batches import status
from relay.services.batches.lines import BatchLines
from relay.services.batches.repository import InMemoryBatchRepository
from relay.services.batches.runner import BatchRunner
from relay.services.batches.service import BatchService
from relay.services.batches.validation import validate
from relay.services.dispatch.dispatcher import Dispatcher
from relay.services.dispatch.retry import RetryPolicy
from relay.services.files.repository import InMemoryFileRepository
from relay.services.files.service import FileLimits, FileService
from relay.services.keys.models import Principal
from relay.services.keys.policy import KeyPolicy

pytestmark = pytest.mark.unit
URL = "/v1/chat/completions"


def line(custom_id: str, model: str = "m1", **extra: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": URL, "body": {"model": model, **extra}}


def jsonl(*lines: Any) -> bytes:
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def test_status_table() -> None:
    assert status.can_transition("validating", "in_progress")
    assert status.can_transition("in_progress", "cancelling")
    assert not status.can_transition("completed", "cancelling")
    assert set(status.sources_of("cancelling")) == {"validating", "in_progress"}
    assert {"failed", "completed", "expired", "cancelled"} == status.TERMINAL


def test_validation_numbers_every_bad_line() -> None:
    data = jsonl(
        line("a"), "", "[1]", line("a"), {**line("b"), "url": "/v1/embeddings"}, {**line("c"), "body": {}}
    )
    result = validate([data], URL, len(data))
    assert result.lines == 5  # the blank line is not a line
    assert [(e["line"], e["code"]) for e in result.errors] == [
        (3, "invalid_json_line"),
        (4, "duplicate_custom_id"),
        (5, "mismatched_url"),
        (6, "missing_required_parameter"),
    ]
    assert validate([b""], URL, 0).errors[0]["code"] == "empty_file"
    assert validate([b"x"], URL, 300 * 1024 * 1024).errors[0]["code"] == "file_too_large"


class Stack:
    """Files, batches, a queue whose lines the test answers by hand, and a runner over them."""

    def __init__(self, concurrency: int = 2) -> None:
        self.store = InMemoryObjectStore()
        uploads = InMemoryUploads(self.store.objects)
        limits = FileLimits(
            inline_max_bytes=10**6, presigned_max_bytes=10**7, inline_download_bytes=10**6, url_ttl=60
        )
        self.files = FileService(InMemoryFileRepository(), self.store, uploads, limits)
        self.batches = InMemoryBatchRepository()
        self.queues = InMemoryQueues()
        self.worker = InMemoryWorker()
        self.service = BatchService(self.batches, self.files, self.worker)

        async def echo(body: dict[str, Any]) -> Any:
            from relay.errors import ModelNotFoundError
            from relay.protocol.chat import ChatCompletion, ChatCompletionMessage, Choice, CompletionUsage

            if body["model"] == "missing":
                raise ModelNotFoundError("no such model", param="model")
            message = ChatCompletionMessage(content="ok")
            usage = CompletionUsage(prompt_tokens=2, completion_tokens=1, total_tokens=3)
            return ChatCompletion(
                id="c",
                model=body["model"],
                choices=[Choice(finish_reason="stop", index=0, message=message)],
                usage=usage,
            )

        async def no_sleep(seconds: float) -> None:
            return None

        dispatcher = Dispatcher({URL: echo}, RetryPolicy(attempts=1, sleep=no_sleep))
        self.principals: dict[str, Principal] = {
            "k": Principal(key_id="k", is_admin=False, policy=KeyPolicy())
        }
        self.lines = BatchLines(
            dispatcher, self.batches, uploads, self.queues, "memory://requests", 1, self.principals.get
        )
        self.peak: dict[str, int] = {}
        self.runner = BatchRunner(
            self.batches,
            self.files,
            self.store,
            uploads,
            self.queues,
            "memory://requests",
            self.worker,
            concurrency,
            sleep=self._answer_queued,
        )

    def _answer_queued(self, seconds: float) -> None:
        """Between the runner's polls, the queue worker answers what was sent (and the test checks the bound)."""
        queued = self.queues.sent.pop("memory://requests", [])
        for _, record in self.batches.items.items():
            for model, count in record.inflight.items():
                self.peak[model] = max(self.peak.get(model, 0), count)
        for body, attributes in queued:
            message = {
                "body": body,
                "messageAttributes": {k: {"stringValue": v} for k, v in attributes.items()},
            }
            asyncio.run(self.lines.handle(message))

    def batch(self, data: bytes) -> Any:
        source = self.files.create(
            "k", filename="in.jsonl", purpose="batch", content=data, expires_after=None
        )
        request = CreateBatchRequest(input_file_id=source.id, endpoint=URL, completion_window="24h")
        return self.service.create("k", request)


def test_a_batch_runs_every_line_within_the_per_model_bound_and_writes_its_files() -> None:
    stack = Stack(concurrency=2)
    lines = (
        [line(f"a{n}", "m1") for n in range(5)]
        + [line(f"b{n}", "m2") for n in range(3)]
        + [line("x", "missing")]
    )
    batch = stack.batch(jsonl(*lines))
    assert stack.worker.submitted == [{"action": "run", "owner": "k", "batch_id": batch.id}]
    assert stack.runner.run("k", batch.id, remaining=lambda: 900.0) == "completed"
    done = stack.batches.get("k", batch.id)
    assert (done.total, done.completed, done.failed) == (9, 8, 1)
    assert max(stack.peak.values()) <= 2
    assert (done.input_tokens, done.output_tokens) == (16, 8)
    output = stack.files.read_lines_source("k", done.output_file_id)[1]
    ids = sorted(json.loads(x)["custom_id"] for x in b"".join(output).splitlines())
    assert ids == sorted(f"a{n}" for n in range(5)) + sorted(f"b{n}" for n in range(3))
    errors = b"".join(stack.files.read_lines_source("k", done.error_file_id)[1]).splitlines()
    assert [json.loads(x)["custom_id"] for x in errors] == ["x"]
    assert not stack.store.keys(f"batches/k/{batch.id}/")  # intermediate results cleaned up


def test_a_bad_file_fails_the_batch_before_any_line_is_sent() -> None:
    stack = Stack()
    batch = stack.batch(jsonl(line("a"), "{oops"))
    assert stack.runner.run("k", batch.id, remaining=lambda: 900.0) == "failed"
    done = stack.batches.get("k", batch.id)
    assert done.errors[0]["line"] == 2 and "failed_at" in done.stamps
    assert not stack.queues.sent


def test_cancel_while_running_stops_sending_and_finalizes() -> None:
    stack = Stack(concurrency=1)
    batch = stack.batch(jsonl(*[line(f"a{n}") for n in range(6)]))
    original = stack._answer_queued
    calls = {"n": 0}

    def cancel_after_two(seconds: float) -> None:
        calls["n"] += 1
        original(seconds)
        if calls["n"] == 2:
            stack.service.cancel("k", batch.id)

    stack.runner._sleep = cancel_after_two
    assert stack.runner.run("k", batch.id, remaining=lambda: 900.0) == "cancelled"
    done = stack.batches.get("k", batch.id)
    assert done.completed == 2 and done.sent == 2
    assert "cancelled_at" in done.stamps and done.output_file_id
    with pytest.raises(ConflictError):
        stack.batches.transition("k", batch.id, "cancelling", 0)
    assert stack.service.cancel("k", batch.id).status == "cancelled"


def test_a_long_batch_hands_itself_to_a_fresh_invocation_and_resumes_at_its_cursor() -> None:
    stack = Stack(concurrency=1)
    batch = stack.batch(jsonl(*[line(f"a{n}") for n in range(3)]))
    left = iter([900.0, 10.0])
    assert stack.runner.run("k", batch.id, remaining=lambda: next(left, 10.0)) == "continued"
    assert stack.worker.submitted[-1] == {"action": "run", "owner": "k", "batch_id": batch.id}
    sent = stack.batches.get("k", batch.id).sent
    assert 0 < sent < 3
    assert stack.runner.run("k", batch.id, remaining=lambda: 900.0) == "completed"
    done = stack.batches.get("k", batch.id)
    assert (done.sent, done.completed) == (3, 3)  # no line sent twice


def test_create_refusals() -> None:
    stack = Stack()
    with pytest.raises(NotFoundError):
        stack.service.create(
            "k", CreateBatchRequest(input_file_id="file-" + "0" * 24, endpoint=URL, completion_window="24h")
        )
    other = stack.files.create("k", filename="n", purpose="user_data", content=b"x", expires_after=None)
    with pytest.raises(BadRequestError) as caught:
        stack.service.create(
            "k", CreateBatchRequest(input_file_id=other.id, endpoint=URL, completion_window="24h")
        )
    assert caught.value.param == "input_file_id"
    with pytest.raises(BadRequestError) as caught:
        stack.service.create(
            "k", CreateBatchRequest(input_file_id=other.id, endpoint="/v1/images", completion_window="24h")
        )
    assert caught.value.param == "endpoint"
    with pytest.raises(BadRequestError):
        CreateBatchRequest(
            input_file_id="f",
            endpoint=URL,
            completion_window="24h",
            metadata={str(n): "v" for n in range(17)},
        )


def test_lines_of_a_revoked_key_fail_without_running() -> None:
    stack = Stack()
    batch = stack.batch(jsonl(line("a"), line("b")))
    del stack.principals["k"]
    assert stack.runner.run("k", batch.id, remaining=lambda: 900.0) == "completed"
    done = stack.batches.get("k", batch.id)
    assert (done.completed, done.failed) == (0, 2)
    errors = b"".join(stack.files.read_lines_source("k", done.error_file_id)[1]).splitlines()
    assert {json.loads(x)["error"]["code"] for x in errors} == {"invalid_api_key"}
    assert sorted(json.loads(x)["custom_id"] for x in errors) == ["a", "b"]


def test_a_line_delivered_twice_is_counted_once() -> None:
    stack = Stack()
    batch = stack.batch(jsonl(line("a"), line("b")))
    stack.runner.run("k", batch.id, remaining=lambda: 900.0)
    record = stack.batches.get("k", batch.id)
    stack.batches.items[("k", batch.id)] = replace(record, status="in_progress")  # as if still running
    attributes = {"RelayBatch": f"k/{batch.id}", "RelayLine": "1", "RelayModel": "m1"}
    message = {
        "body": json.dumps(line("a")),
        "messageAttributes": {k: {"stringValue": v} for k, v in attributes.items()},
    }
    stack.store.objects[f"batches/k/{batch.id}/results/00000001.json"] = b"{}"  # the first delivery's result
    asyncio.run(stack.lines.handle(message))
    assert stack.batches.get("k", batch.id).completed == record.completed
