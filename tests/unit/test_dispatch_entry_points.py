"""The queue, bus and object workers over in-memory queues, bus and bucket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest

from relay.backends.events import InMemoryEventBus
from relay.backends.s3 import InMemoryObjectStore
from relay.backends.s3_uploads import InMemoryUploads
from relay.backends.sqs import InMemoryQueues
from relay.errors import BadRequestError, UpstreamError
from relay.services.dispatch.bus import BusWorker
from relay.services.dispatch.dispatcher import Dispatcher
from relay.services.dispatch.objects import ObjectBatchWorker, output_keys
from relay.services.dispatch.queue import QueueConfig, QueueWorker, RetryLater
from relay.services.dispatch.retry import RetryPolicy

pytestmark = pytest.mark.unit

ALLOWED = "arn:aws:sqs:us-east-1:123456789012:allowed"


async def no_sleep(seconds: float) -> None:
    return None


class Echo:
    """An endpoint that echoes its body, fails on `fail`, refuses `bad`, and counts what is in flight."""

    def __init__(self, gate: int = 0) -> None:
        self.in_flight = 0
        self.peak = 0
        # With a gate, calls wait (up to a second) until that many are in flight at once, so the
        # peak measures the worker's bound rather than how fast this machine happens to be.
        self.gate = gate
        self.opened = asyncio.Event()

    async def __call__(self, body: dict[str, Any]) -> Any:
        from pydantic import BaseModel

        class Echoed(BaseModel):
            echo: dict[str, Any]

        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.in_flight >= self.gate:
                self.opened.set()
            if not self.opened.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.opened.wait(), 1.0)
            await asyncio.sleep(0.001)
            if body.get("fail"):
                raise UpstreamError("boom")
            if body.get("bad"):
                raise BadRequestError("bad", param="bad")
            return Echoed(echo=body)
        finally:
            self.in_flight -= 1


def make_dispatcher(echo: Echo | None = None) -> Dispatcher:
    return Dispatcher({"/v1/echo": echo or Echo()}, RetryPolicy(attempts=2, sleep=no_sleep))


def line(custom_id: str, **body: Any) -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/echo", "body": body})


def record(body: str, receives: int = 1, reply_to: str | None = None) -> dict[str, Any]:
    attributes = {"ReplyTo": {"stringValue": reply_to, "dataType": "String"}} if reply_to else {}
    return {
        "messageId": "m-1",
        "receiptHandle": "rh-1",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receives)},
        "messageAttributes": attributes,
    }


def queue_worker(queues: InMemoryQueues) -> QueueWorker:
    config = QueueConfig("memory://responses", frozenset({ALLOWED}), 3, "memory://requests", 5)
    return QueueWorker(make_dispatcher(), queues, config)


def sent(queues: InMemoryQueues, url: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    return [(json.loads(body), attributes) for body, attributes in queues.sent.get(url, [])]


def test_a_queue_result_goes_to_the_response_queue_with_correlation_attributes() -> None:
    queues = InMemoryQueues()
    asyncio.run(queue_worker(queues).handle(record(line("a", x=1))))
    ((result, attributes),) = sent(queues, "memory://responses")
    assert result["response"]["body"] == {"echo": {"x": 1}}
    assert attributes == {"RequestMessageId": "m-1", "CustomId": "a"}


def test_an_allowed_reply_to_gets_the_result_and_another_is_refused_without_running() -> None:
    queues = InMemoryQueues()
    worker = queue_worker(queues)
    asyncio.run(worker.handle(record(line("a"), reply_to=ALLOWED)))
    assert [r["custom_id"] for r, _ in sent(queues, "memory://allowed")] == ["a"]
    asyncio.run(worker.handle(record(line("b"), reply_to="arn:aws:sqs:us-east-1:999999999999:other")))
    ((refused, _),) = sent(queues, "memory://responses")
    assert refused["custom_id"] == "b" and refused["error"]["code"] == "reply_to_not_allowed"


def test_a_transient_failure_goes_back_to_the_queue_with_a_backoff_until_the_last_receive() -> None:
    queues = InMemoryQueues()
    worker = queue_worker(queues)
    with pytest.raises(RetryLater):
        asyncio.run(worker.handle(record(line("a", fail=True), receives=2)))
    assert queues.delayed == [("memory://requests", "rh-1", 10)]  # 5 s times the receive count
    assert not queues.sent
    asyncio.run(worker.handle(record(line("a", fail=True), receives=3)))
    ((result, _),) = sent(queues, "memory://responses")
    assert result["error"]["code"] == "upstream_error"


def test_a_refusal_is_answered_at_once() -> None:
    queues = InMemoryQueues()
    asyncio.run(queue_worker(queues).handle(record(line("a", bad=True))))
    ((result, _),) = sent(queues, "memory://responses")
    assert result["response"]["status_code"] == 400


def test_a_bus_request_is_answered_on_the_bus() -> None:
    bus = InMemoryEventBus()
    event = {"detail-type": "Relay Request", "detail": json.loads(line("e", y=2))}
    asyncio.run(BusWorker(make_dispatcher(), bus).handle(event))
    ((source, detail_type, detail),) = bus.events
    assert (source, detail_type) == ("relay", "Relay Response")
    assert detail["custom_id"] == "e" and detail["response"]["body"] == {"echo": {"y": 2}}


def test_an_object_batch_streams_lines_with_bounded_concurrency() -> None:
    store = InMemoryObjectStore()
    echo = Echo(gate=4)
    body = "\n".join([line(f"l{i}", i=i) for i in range(40)] + ["", line("bad", bad=True), "\xff"]) + "\n"
    store.objects["batch/input/run/one.jsonl"] = body.encode("latin-1")
    worker = ObjectBatchWorker(make_dispatcher(echo), store, InMemoryUploads(store.objects), concurrency=4)
    result = asyncio.run(worker.handle("batch/input/run/one.jsonl"))
    assert (result.total, result.failed) == (42, 2)
    assert result.output_key == "batch/output/run/one.jsonl"
    assert echo.peak == 4
    output = [json.loads(x) for x in store.objects[result.output_key].decode().splitlines()]
    assert sorted(
        o["custom_id"] for o in output if o["custom_id"] and o["custom_id"].startswith("l")
    ) == sorted(f"l{i}" for i in range(40))
    errors = [json.loads(x) for x in store.objects["batch/output/run/one.errors.jsonl"].decode().splitlines()]
    assert {e["custom_id"] for e in errors} == {"bad", None}
    assert any("UTF-8" in (e["error"] or {}).get("message", "") for e in errors)


def test_no_error_object_when_every_line_succeeds() -> None:
    store = InMemoryObjectStore()
    store.objects["batch/input/ok.jsonl"] = (line("a") + "\n").encode()
    worker = ObjectBatchWorker(make_dispatcher(), store, InMemoryUploads(store.objects), concurrency=2)
    result = asyncio.run(worker.handle("batch/input/ok.jsonl"))
    assert result.error_key is None and "batch/output/ok.errors.jsonl" not in store.objects


def test_output_keys_keep_folders_and_refuse_other_prefixes() -> None:
    assert output_keys("batch/input/a/b.jsonl") == ("batch/output/a/b.jsonl", "batch/output/a/b.errors.jsonl")
    with pytest.raises(ValueError):
        output_keys("projects/x.jsonl")


def test_a_message_naming_a_key_runs_as_it_and_an_unknown_key_is_refused_unrun() -> None:
    from relay.services.keys.models import Principal
    from relay.services.keys.policy import KeyPolicy

    seen: list[Any] = []

    class Recording(Dispatcher):
        async def dispatch(self, raw: Any, *, entry_point: str, principal: Any = None) -> Any:
            seen.append(principal)
            return await super().dispatch(raw, entry_point=entry_point, principal=principal)

    queues = InMemoryQueues()
    team = Principal(key_id="abc", is_admin=False, policy=KeyPolicy())
    config = QueueConfig("memory://responses", frozenset(), 3, "memory://requests", 5)
    worker = QueueWorker(
        Recording({"/v1/echo": Echo()}, RetryPolicy(attempts=1, sleep=no_sleep)),
        queues,
        config,
        principals={"abc": team}.get,
    )
    named = record(line("a"))
    named["messageAttributes"]["RelayKeyId"] = {"stringValue": "abc", "dataType": "String"}
    asyncio.run(worker.handle(named))
    unknown = record(line("b"))
    unknown["messageAttributes"]["RelayKeyId"] = {"stringValue": "nope", "dataType": "String"}
    asyncio.run(worker.handle(unknown))
    asyncio.run(worker.handle(record(line("c"))))
    assert seen == [team, None]  # the unknown key's line never ran
    results = {r["custom_id"]: r for r, _ in sent(queues, "memory://responses")}
    assert results["a"]["response"]["status_code"] == 200
    assert results["b"]["error"]["code"] == "invalid_api_key"
    assert results["c"]["response"]["status_code"] == 200
