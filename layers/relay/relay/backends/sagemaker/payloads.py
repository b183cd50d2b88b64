"""JSON in, JSON (or SSE payloads) out of an endpoint: the call shared by chat and completions.

A container's answer that does not parse is the model's fault, not the caller's, so it is a
502 naming the model. Streams are opened and read by the shared pump
(`relay.backends.streaming`): SSE payloads are decoded on the pump thread, chunks are built
on the event loop, with no thread hop per part.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from typing import Any, TypeVar

from relay.backends.sagemaker.runtime import PartStream, SageMakerRuntime
from relay.backends.streaming import pump
from relay.backends.threads import CALLS
from relay.errors import RelayError, UpstreamError
from relay.targets import SageMakerTarget
from relay.translate.sagemaker.stream import DONE, StreamDecoder

T = TypeVar("T")


class PayloadStream:
    """Complete SSE payloads from PayloadPart bytes, up to `[DONE]`."""

    def __init__(self, parts: PartStream) -> None:
        self._parts = parts

    def close(self) -> None:
        self._parts.close()

    def __iter__(self) -> Iterator[str]:
        decoder = StreamDecoder()
        try:
            for part in self._parts:
                for payload in decoder.feed(part):
                    if payload.strip() == DONE:
                        return
                    yield payload
            for payload in decoder.finish():
                if payload.strip() != DONE:
                    yield payload
        finally:
            self.close()


async def invoke_json(
    runtime: SageMakerRuntime, target: SageMakerTarget, body: dict[str, Any], parse: Callable[[Any], T]
) -> T:
    """InvokeEndpoint with a JSON body; `parse` turns the decoded answer into our model."""
    answer = await CALLS.run(runtime.invoke, target, json.dumps(body).encode())
    try:
        return parse(json.loads(answer.body))
    except ValueError as exc:
        raise UpstreamError(f"The model {target.id} answered in an unexpected shape: {exc}") from exc


async def stream_json(
    runtime: SageMakerRuntime,
    target: SageMakerTarget,
    body: dict[str, Any],
    to_chunks: Callable[[str], Iterable[T]],
) -> AsyncGenerator[T, None]:
    """InvokeEndpointWithResponseStream; `to_chunks` turns each SSE payload into our chunks."""
    encoded = json.dumps(body).encode()

    def open_stream() -> PayloadStream:
        return PayloadStream(runtime.invoke_stream(target, encoded))

    def map_error(exc: BaseException) -> BaseException:
        if isinstance(exc, RelayError):
            return exc
        return UpstreamError(f"The stream from {target.id} broke")

    payloads = pump(open_stream, map_error=map_error)
    try:
        async for payload in payloads:
            try:
                chunks = to_chunks(payload)
            except ValueError as exc:
                raise UpstreamError(f"The model {target.id} streamed an unexpected event: {exc}") from exc
            for chunk in chunks:
                yield chunk
    finally:
        # Closing the pump closes the endpoint's stream at once, not at garbage collection.
        await payloads.aclose()
