"""A SageMaker chat stream closes the endpoint's stream when its consumer stops early."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from relay.backends.sagemaker.chat import SageMakerChatBackend
from relay.protocol.chat import ChatCompletionRequest
from relay.targets import SageMakerTarget

pytestmark = pytest.mark.unit


class Parts:
    """PayloadPart bytes for many SSE chunks; records whether it was closed."""

    def __init__(self) -> None:
        self.closed = False
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.closed:
            raise StopIteration
        self.sent += 1
        chunk = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": f"w{self.sent} "}, "finish_reason": None}],
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    def close(self) -> None:
        self.closed = True


class Runtime:
    def __init__(self) -> None:
        self.parts = Parts()

    def invoke_stream(self, target: Any, body: bytes, **kwargs: Any) -> Parts:
        return self.parts


def test_closing_the_chunk_stream_closes_the_endpoint_stream() -> None:
    target = SageMakerTarget(
        id="m/dev", endpoint_name="e-openai", flavour="openai", type="chat", created_at=0
    )
    runtime = Runtime()
    backend = SageMakerChatBackend(runtime)  # type: ignore[arg-type]
    request = ChatCompletionRequest.model_validate(
        {"model": "m/dev", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    )

    async def consume_two() -> None:
        chunks = backend.stream(request, target)
        await chunks.__anext__()
        await chunks.__anext__()
        await chunks.aclose()  # what the SSE response does when the client leaves
        # At once, not when the event loop later finalizes abandoned async generators.
        assert runtime.parts.closed

    asyncio.run(consume_two())
    assert runtime.parts.sent < 10  # it stopped early instead of draining the stream
