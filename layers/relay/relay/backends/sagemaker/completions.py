"""Legacy completions served by an OpenAI-compatible SageMaker container itself.

Plain calls and streams go through the endpoint calls chat uses (`payloads.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from relay.backends.sagemaker.payloads import invoke_json, stream_json
from relay.backends.sagemaker.runtime import SageMakerRuntime
from relay.protocol.completions import Completion, CompletionRequest
from relay.targets import SageMakerTarget
from relay.translate.sagemaker.completions import (
    COMPLETION_FLAVOURS,
    CompletionChunkState,
    completion_event,
    from_container_completion,
    to_container_completion,
)


class SageMakerCompletionBackend:
    def __init__(self, runtime: SageMakerRuntime) -> None:
        self._runtime = runtime

    @staticmethod
    def serves(target: object) -> bool:
        """Whether the target's container answers completions bodies natively."""
        return isinstance(target, SageMakerTarget) and target.flavour in COMPLETION_FLAVOURS

    async def complete(self, request: CompletionRequest, target: SageMakerTarget) -> Completion:
        served = target.metadata.get("served_model_name")
        body = to_container_completion(request, served, stream=False)
        return await invoke_json(
            self._runtime, target, body, lambda answer: from_container_completion(answer, request.model)
        )

    async def stream(self, request: CompletionRequest, target: SageMakerTarget) -> AsyncIterator[Completion]:
        served = target.metadata.get("served_model_name")
        body = to_container_completion(request, served, stream=True)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        state = CompletionChunkState(model=request.model, include_usage=include_usage)
        # aclosing: a consumer that stops early closes the endpoint's stream at once.
        async with aclosing(
            stream_json(self._runtime, target, body, lambda payload: completion_event(payload, state))
        ) as chunks:
            async for chunk in chunks:
                yield chunk
