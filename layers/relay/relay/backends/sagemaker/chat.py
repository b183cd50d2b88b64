"""The SageMaker chat backend: InvokeEndpoint[WithResponseStream] for chat-flavoured models.

It receives the resolved registry record; it never reads the registry itself. Streams are
opened and read by the shared pump (`relay.backends.streaming`): SSE payloads are decoded
on the pump thread, chunks are built on the event loop, with no thread hop per part.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

from starlette.concurrency import run_in_threadpool

from relay.backends.sagemaker.runtime import PartStream, SageMakerRuntime
from relay.backends.streaming import pump
from relay.errors import BadRequestError, RelayError, UpstreamError
from relay.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from relay.targets import SageMakerTarget
from relay.translate.sagemaker.chat import ChunkState, event_to_chunks, from_container, to_container
from relay.translate.sagemaker.stream import DONE, StreamDecoder

CHAT_FLAVOURS = ("openai", "tgi")


def _check(target: SageMakerTarget) -> None:
    if target.flavour not in CHAT_FLAVOURS:
        raise BadRequestError(f"The model '{target.id}' runs a {target.flavour} container, not a chat model")


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


class SageMakerChatBackend:
    def __init__(self, runtime: SageMakerRuntime) -> None:
        self._runtime = runtime

    async def complete(self, request: ChatCompletionRequest, target: SageMakerTarget) -> ChatCompletion:
        _check(target)
        served = target.metadata.get("served_model_name")
        body = to_container(request, target.flavour, served, stream=False)
        answer = await run_in_threadpool(self._runtime.invoke, target, json.dumps(body).encode())
        try:
            return from_container(json.loads(answer.body), request.model)
        except ValueError as exc:
            raise UpstreamError(f"The model {target.id} answered in an unexpected shape: {exc}") from exc

    async def stream(
        self, request: ChatCompletionRequest, target: SageMakerTarget
    ) -> AsyncIterator[ChatCompletionChunk]:
        _check(target)
        served = target.metadata.get("served_model_name")
        body = json.dumps(to_container(request, target.flavour, served, stream=True)).encode()
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        state = ChunkState(model=request.model, include_usage=include_usage)

        def open_stream() -> PayloadStream:
            return PayloadStream(self._runtime.invoke_stream(target, body))

        def map_error(exc: BaseException) -> BaseException:
            if isinstance(exc, RelayError):
                return exc
            return UpstreamError(f"The stream from {target.id} broke")

        payloads = pump(open_stream, map_error=map_error)
        try:
            async for payload in payloads:
                try:
                    chunks = event_to_chunks(payload, state)
                except ValueError as exc:
                    raise UpstreamError(f"The model {target.id} streamed an unexpected event: {exc}") from exc
                for chunk in chunks:
                    yield chunk
        finally:
            # Closing the pump closes the endpoint's stream at once, not at garbage collection.
            await payloads.aclose()
