"""Streams: the shared pump (context, close), the Bedrock tools fallback, the completions fan-out."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from relay.backends.bedrock.chat import BedrockChatBackend
from relay.backends.streaming import READ_AHEAD, pump
from relay.errors import BadRequestError, UpstreamError
from relay.observability import logger, request_id_var
from relay.protocol.chat import ChatCompletionRequest
from relay.protocol.completions import CompletionRequest
from relay.services.completions import CompletionService
from relay.targets import BedrockTarget
from relay.translate.bedrock.chat import Defaults
from relay.translate.bedrock.content import FetchedImage

pytestmark = pytest.mark.unit

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Upstream:
    """A blocking upstream stream; records the thread it was opened on and whether it closed."""

    def __init__(self, items: int) -> None:
        self.items = items
        self.closed = threading.Event()
        self.sent = 0

    def __iter__(self) -> Iterator[int]:
        while self.sent < self.items and not self.closed.is_set():
            self.sent += 1
            yield self.sent

    def close(self) -> None:
        self.closed.set()


def test_the_pump_thread_logs_with_the_request_id() -> None:
    handler = Records()
    logger.addHandler(handler)
    seen: dict[str, Any] = {}

    def open_stream() -> Upstream:
        seen["thread"] = threading.current_thread().name
        logger.info("opening upstream")
        return Upstream(3)

    async def consume() -> list[int]:
        request_id_var.set("req-pump-1")
        return [item async for item in pump(open_stream, map_error=lambda exc: exc)]

    try:
        assert asyncio.run(consume()) == [1, 2, 3]
    finally:
        logger.removeHandler(handler)
    assert seen["thread"].startswith("stream-pump")
    opened = [r for r in handler.records if r.getMessage() == "opening upstream"]
    assert [getattr(r, "correlation_id", None) for r in opened] == ["req-pump-1"]


def test_closing_the_pump_closes_the_upstream_and_errors_are_mapped() -> None:
    upstream = Upstream(10_000)

    async def two_then_leave() -> None:
        items = pump(lambda: upstream, map_error=lambda exc: exc)
        assert [await items.__anext__(), await items.__anext__()] == [1, 2]
        await items.aclose()
        assert upstream.closed.is_set()  # at once, not at garbage collection

    asyncio.run(two_then_leave())
    # The pump reads a few items ahead of its consumer, never the whole stream.
    assert upstream.sent <= READ_AHEAD + 3

    def broken() -> Upstream:
        raise ConnectionResetError("reset")

    async def first() -> None:
        await pump(broken, map_error=lambda exc: UpstreamError("mapped")).__anext__()

    with pytest.raises(UpstreamError, match="mapped"):
        asyncio.run(first())


class Converse:
    """bedrock-runtime: answers Converse; ConverseStream must not be called (tools fallback)."""

    def __init__(self) -> None:
        self.calls = 0

    def converse(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        message = {"role": "assistant", "content": [{"text": "a cat"}]}
        usage = {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}
        return {"output": {"message": message}, "stopReason": "end_turn", "usage": usage}

    def converse_stream(self, **kwargs: Any) -> Any:
        raise AssertionError("a model without streaming tools must not be streamed")


class Images:
    def __init__(self) -> None:
        self.fetches = 0

    async def fetch_all(self, urls: Any) -> dict[str, FetchedImage]:
        self.fetches += 1
        return {url: FetchedImage("png", PNG) for url, _ in urls}


def test_the_no_streaming_tools_fallback_fetches_images_once() -> None:
    client, images = Converse(), Images()
    backend = BedrockChatBackend(client, defaults=Defaults(), images=images)  # type: ignore[arg-type]
    model = "meta.llama3-2-11b-instruct-v1:0"
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    request = ChatCompletionRequest.model_validate(
        {"model": model, "stream": True, "tools": [tool], "messages": [{"role": "user", "content": content}]}
    )

    async def collect() -> str:
        chunks = [c async for c in backend.stream(request, BedrockTarget(model, "chat"))]
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    assert asyncio.run(collect()) == "a cat"
    assert images.fetches == 1 and client.calls == 1


class Started:
    def __init__(self) -> None:
        self.closed = False

    def __aiter__(self) -> Started:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self.closed = True


class Chat:
    """The chat service: prompt "bad" fails, the others start (or hang, when completing)."""

    def __init__(self) -> None:
        self.started: list[Started] = []
        self.cancelled = 0

    @staticmethod
    def _prompt(request: ChatCompletionRequest) -> str:
        return str(request.messages[-1].content)

    async def stream(self, request: ChatCompletionRequest) -> tuple[list[Any], AsyncIterator[Any]]:
        await asyncio.sleep(0.01 if self._prompt(request) == "bad" else 0)
        if self._prompt(request) == "bad":
            raise BadRequestError("bad prompt", param="prompt")
        started = Started()
        self.started.append(started)
        return [], started

    async def complete(self, request: ChatCompletionRequest) -> Any:
        if self._prompt(request) == "bad":
            await asyncio.sleep(0.01)
            raise BadRequestError("bad prompt", param="prompt")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


def test_a_failing_prompt_closes_the_streams_the_others_started() -> None:
    chat = Chat()
    service = CompletionService(chat)  # type: ignore[arg-type]
    body = CompletionRequest.model_validate({"model": "m", "prompt": ["a", "bad", "c"], "stream": True})
    with pytest.raises(BadRequestError, match="bad prompt"):
        asyncio.run(service.stream(body))
    assert len(chat.started) == 2 and all(s.closed for s in chat.started)


def test_a_failing_prompt_cancels_the_other_completions() -> None:
    chat = Chat()
    service = CompletionService(chat)  # type: ignore[arg-type]
    body = CompletionRequest.model_validate({"model": "m", "prompt": ["a", "bad", "c"]})
    with pytest.raises(BadRequestError, match="bad prompt"):
        asyncio.run(service.complete(body))
    assert chat.cancelled == 2
