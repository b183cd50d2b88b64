"""The SageMaker chat backend: InvokeEndpoint[WithResponseStream] for chat-flavoured models."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Generator, Iterator

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from relay.backends.sagemaker.runtime import SageMakerRuntime
from relay.errors import BadRequestError, ModelNotFoundError, UpstreamError
from relay.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from relay.services.chat import ChatTarget
from relay.services.registry import ModelRegistryRepository, SageMakerTarget
from relay.translate.sagemaker.chat import ChunkState, event_to_chunks, from_container, to_container
from relay.translate.sagemaker.stream import DONE, StreamDecoder

CHAT_FLAVOURS = ("openai", "tgi")


class SageMakerChatBackend:
    def __init__(self, registry: ModelRegistryRepository, runtime: SageMakerRuntime) -> None:
        self._registry = registry
        self._runtime = runtime

    def _target(self, target: ChatTarget) -> SageMakerTarget:
        found = self._registry.get(target.id)
        if found is None:
            raise ModelNotFoundError(f"The model '{target.id}' does not exist", param="model")
        if found.flavour not in CHAT_FLAVOURS:
            raise BadRequestError(
                f"The model '{target.id}' runs a {found.flavour} container, not a chat model"
            )
        return found

    async def complete(self, request: ChatCompletionRequest, target: ChatTarget) -> ChatCompletion:
        found = await run_in_threadpool(self._target, target)
        body = to_container(request, found.flavour, found.metadata.get("served_model_name"), stream=False)
        answer = await run_in_threadpool(self._runtime.invoke, found, json.dumps(body).encode())
        try:
            return from_container(json.loads(answer.body), request.model)
        except ValueError as exc:
            raise UpstreamError(f"The model {found.id} answered in an unexpected shape: {exc}") from exc

    async def stream(
        self, request: ChatCompletionRequest, target: ChatTarget
    ) -> AsyncIterator[ChatCompletionChunk]:
        found = await run_in_threadpool(self._target, target)
        body = to_container(request, found.flavour, found.metadata.get("served_model_name"), stream=True)
        parts = await run_in_threadpool(self._runtime.invoke_stream, found, json.dumps(body).encode())
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        state = ChunkState(model=request.model, include_usage=include_usage)
        payloads = _payloads(parts)
        try:
            async for payload in iterate_in_threadpool(payloads):
                try:
                    chunks = event_to_chunks(payload, state)
                except ValueError as exc:
                    raise UpstreamError(f"The model {found.id} streamed an unexpected event: {exc}") from exc
                for chunk in chunks:
                    yield chunk
        finally:
            # iterate_in_threadpool never closes what it iterates: without this a client that
            # leaves would keep the endpoint's stream open until garbage collection.
            payloads.close()


def _payloads(parts: Iterator[bytes]) -> Generator[str, None, None]:
    """Complete SSE payloads from PayloadPart bytes, up to `[DONE]`."""
    decoder = StreamDecoder()
    try:
        for part in parts:
            for payload in decoder.feed(part):
                if payload.strip() == DONE:
                    return
                yield payload
        for payload in decoder.finish():
            if payload.strip() != DONE:
                yield payload
    finally:
        close = getattr(parts, "close", None)
        if close is not None:
            close()
