"""The performance guard: the work one inference request does, counted, never timed.

Timed tests flake on a loaded machine; counts do not. Each request below runs through the
data-plane app in-process against the local stack (real botocore, real sockets to the
emulator), and the test counts what costs time on the hot path:

- pydantic validations (every `SchemaValidator.validate_*` call, model constructors included),
- thread hops (relay.backends.threads), and the costlier executor and anyio round trips,
- log records and writes to stdout (the one request line),
- socket writes to the upstream, AWS API calls, and wake-ups of the event loop from threads.

A change that adds a validation, a thread hop, a log line or an upstream call per request
fails here; if the change is worth its cost, raise the budget in the same commit and say why.
`make bench` measures the time itself.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import pytest

from tests.asgi import http_scope

pytestmark = pytest.mark.functional

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
CHAT = "/v1/chat/completions"
# Set for the measured requests only: their work on other threads runs in copies of their
# context, while the local stack's own work (queue deliveries, flushes) runs in other contexts.
MEASURED: ContextVar[bool] = ContextVar("measured", default=False)


class Work(Counter[str]):
    pass


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    work = Work()
    main = threading.get_ident()
    loop_socket = asyncio.get_running_loop()._csock  # type: ignore[attr-defined]

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call" and getattr(arg, "__name__", "").startswith("validate_"):
            owner = type(getattr(arg, "__self__", None)).__name__
            if owner == "SchemaValidator":
                work["validations"] += 1

    real_submit = ThreadPoolExecutor.submit

    def submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if MEASURED.get():
            work["executor_hops"] += 1
        return real_submit(self, fn, *args, **kwargs)

    from relay.backends.threads import Workers

    real_put = Workers._put

    def put(self: Workers, job: Any) -> None:
        if MEASURED.get():
            work["thread_hops"] += 1
        real_put(self, job)

    import anyio.to_thread

    real_run_sync = anyio.to_thread.run_sync

    async def run_sync(*args: Any, **kwargs: Any) -> Any:
        if MEASURED.get():
            work["anyio_hops"] += 1
        return await real_run_sync(*args, **kwargs)

    def counted(real: Any) -> Any:
        # A write to the loop's own self-pipe is a wake-up from another thread (a finished
        # call's result arrives outside the call's context, so the socket tells).
        def call(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
            if self is loop_socket:
                work["loop_wakeups"] += 1
            elif MEASURED.get() and self.family != socket.AF_UNIX:
                work["upstream_writes"] += 1
            return real(self, *args, **kwargs)

        return call

    real_write = sys.stdout.write

    def write(text: str) -> int:
        if threading.get_ident() == main and text.strip():
            work["stdout_lines"] += text.count("\n") or 1
        return real_write(text)

    import logging

    class Records(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if MEASURED.get():
                work["log_records"] += 1

    handler = Records(level=logging.DEBUG)
    monkeypatch.setattr(ThreadPoolExecutor, "submit", submit)
    monkeypatch.setattr(Workers, "_put", put)
    monkeypatch.setattr(anyio.to_thread, "run_sync", run_sync)
    monkeypatch.setattr(socket.socket, "sendall", counted(socket.socket.sendall))
    monkeypatch.setattr(socket.socket, "send", counted(socket.socket.send))
    monkeypatch.setattr(sys.stdout, "write", write)
    logging.getLogger().addHandler(handler)
    relay_logger = logging.getLogger("relay")
    relay_logger.addHandler(handler)
    sys.setprofile(profile)
    try:
        yield work
    finally:
        sys.setprofile(None)
        relay_logger.removeHandler(handler)
        logging.getLogger().removeHandler(handler)


async def _call(app: Any, path: str, body: dict[str, Any], key: str) -> tuple[int, bytes]:
    raw = json.dumps(body).encode()
    headers = [
        (b"host", b"relay"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
    ]
    scope = http_scope("POST", path, headers)
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.fixture(scope="module")
def data_plane(services: Any) -> Any:
    from relay.http.app import create_data_plane_app

    return create_data_plane_app(services)


def _aws_calls(services: Any) -> Counter[str]:
    calls: Counter[str] = Counter()
    client = services.bedrock_chat._client

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    client.meta.events.register("before-call.*.*", count)
    return calls


N = 5


def _per_request(
    data_plane: Any, monkeypatch: pytest.MonkeyPatch, key: str, body: dict[str, Any]
) -> tuple[dict[str, float], list[tuple[int, bytes]]]:
    """What N requests did, divided by N (after three unmeasured ones warm the caches)."""

    async def run() -> tuple[Work, list[tuple[int, bytes]]]:
        for _ in range(3):
            await _call(data_plane, CHAT, body, key)
        with counting(monkeypatch) as work:
            MEASURED.set(True)
            answers = [await _call(data_plane, CHAT, body, key) for _ in range(N)]
            MEASURED.set(False)
        return work, answers

    work, answers = asyncio.run(run())
    counted = (*work, "anyio_hops", "executor_hops", "log_records", "thread_hops")
    return {name: work[name] / N for name in counted}, answers


CHAT_BODY = {"model": MODEL, "messages": [{"role": "user", "content": "count the work"}], "max_tokens": 16}


def test_a_chat_completion_does_a_fixed_amount_of_work(
    data_plane: Any, services: Any, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _aws_calls(services)
    work, answers = _per_request(data_plane, monkeypatch, admin_key, CHAT_BODY)
    assert all(status == 200 for status, _ in answers), answers
    assert json.loads(answers[0][1])["object"] == "chat.completion"
    assert dict(calls) == {"Converse": 3 + N}  # one AWS call a request: no key, usage or model reads
    assert work == {
        "validations": 5,  # the body (one pass over the JSON), then the answer's four models
        "thread_hops": 1,  # the Converse call, on a worker thread
        "executor_hops": 0,
        "anyio_hops": 0,
        "loop_wakeups": 1,  # its answer handed back to the loop
        "upstream_writes": 2,  # the HTTP request's head and body
        "log_records": 0,  # the request line is not a logging record...
        "stdout_lines": 1,  # ...but one line on stdout: the access log and its metrics
    }


def test_a_streamed_chat_does_a_fixed_amount_of_work(
    data_plane: Any, services: Any, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {**CHAT_BODY, "stream": True}
    work, answers = _per_request(data_plane, monkeypatch, admin_key, body)
    assert all(status == 200 for status, _ in answers)
    frames = answers[0][1].split(b"\n\n")
    assert frames[-2:] == [b"data: [DONE]", b""]
    events = len(frames) - 3  # without [DONE], the empty tail and the usage-less role chunk
    assert work == {
        "validations": 19,  # the body, then the chunks' models
        "thread_hops": 1,  # the stream's pump thread; chunks come back without a hop each...
        "executor_hops": 0,
        "anyio_hops": 0,
        "loop_wakeups": 8,  # ...just a wake-up of the loop for each Bedrock event
        "upstream_writes": 2,
        "log_records": 0,
        "stdout_lines": 1,
    }, events
