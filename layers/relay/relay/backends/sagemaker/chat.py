"""The SageMaker chat backend: InvokeEndpoint[WithResponseStream] for chat-flavoured models.

It receives the resolved registry record; it never reads the registry itself. The endpoint
call and its stream are the ones completions use too (`payloads.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from relay.backends.sagemaker.payloads import invoke_json, stream_json
from relay.backends.sagemaker.runtime import SageMakerRuntime
from relay.errors import BadRequestError
from relay.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from relay.targets import SageMakerTarget
from relay.translate.sagemaker.chat import ChunkState, event_to_chunks, from_container, to_container

CHAT_FLAVOURS = ("openai", "tgi")


def _check(target: SageMakerTarget) -> None:
    if target.flavour not in CHAT_FLAVOURS:
        raise BadRequestError(f"The model '{target.id}' runs a {target.flavour} container, not a chat model")


class SageMakerChatBackend:
    def __init__(self, runtime: SageMakerRuntime) -> None:
        self._runtime = runtime

    async def complete(self, request: ChatCompletionRequest, target: SageMakerTarget) -> ChatCompletion:
        _check(target)
        served = target.metadata.get("served_model_name")
        body = to_container(request, target.flavour, served, stream=False)
        return await invoke_json(
            self._runtime, target, body, lambda answer: from_container(answer, request.model)
        )

    async def stream(
        self, request: ChatCompletionRequest, target: SageMakerTarget
    ) -> AsyncIterator[ChatCompletionChunk]:
        _check(target)
        served = target.metadata.get("served_model_name")
        body = to_container(request, target.flavour, served, stream=True)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        state = ChunkState(model=request.model, include_usage=include_usage)
        # aclosing: a consumer that stops early closes the endpoint's stream at once.
        async with aclosing(
            stream_json(self._runtime, target, body, lambda payload: event_to_chunks(payload, state))
        ) as chunks:
            async for chunk in chunks:
                yield chunk
