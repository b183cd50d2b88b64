"""Legacy completions served by an OpenAI-compatible SageMaker container itself.

Plain calls go through InvokeEndpoint; streams through the shared pump, as chat does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from relay.backends.sagemaker.chat import PayloadStream
from relay.backends.sagemaker.runtime import SageMakerRuntime
from relay.backends.streaming import pump
from relay.errors import RelayError, UpstreamError
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
        body = json.dumps(to_container_completion(request, served, stream=False)).encode()
        answer = await run_in_threadpool(self._runtime.invoke, target, body)
        try:
            return from_container_completion(json.loads(answer.body), request.model)
        except ValueError as exc:
            raise UpstreamError(f"The model {target.id} answered in an unexpected shape: {exc}") from exc

    async def stream(self, request: CompletionRequest, target: SageMakerTarget) -> AsyncIterator[Completion]:
        served = target.metadata.get("served_model_name")
        body = json.dumps(to_container_completion(request, served, stream=True)).encode()
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        state = CompletionChunkState(model=request.model, include_usage=include_usage)

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
                    chunks = completion_event(payload, state)
                except ValueError as exc:
                    raise UpstreamError(f"The model {target.id} streamed an unexpected event: {exc}") from exc
                for chunk in chunks:
                    yield chunk
        finally:
            await payloads.aclose()
