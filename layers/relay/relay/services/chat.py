"""Chat completions, backend-neutral: resolve the model, pick its backend, pull the first chunk.

A backend implements `relay.targets.ChatBackend` for one model source (Bedrock,
SageMaker) and receives the resolved target. The route only talks to `ChatService`, so
adding a source is one entry in `Services.chat_backends`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from relay.backends.threads import CALLS
from relay.errors import ModelNotFoundError
from relay.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, StreamOptions
from relay.services.resolver import CHAT_TYPES, ModelResolver
from relay.services.usage.meter import count_usage, metered_chunks, metering
from relay.targets import ChatBackend, Source, Target

ROUTE = "/v1/chat/completions"


async def close_quietly(stream: AsyncIterator[Any]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


class ChatService:
    def __init__(
        self,
        resolver: ModelResolver,
        backends: Mapping[Source, Callable[[], ChatBackend[Any]]],
    ) -> None:
        self._resolver = resolver
        self._backends = backends

    def resolve(self, model_id: str) -> Target:
        """Blocking (may list models or read the registry); call off the event loop."""
        return self._resolver.resolve(model_id, types=CHAT_TYPES, route=ROUTE)

    async def target(self, model_id: str) -> Target:
        """The resolved target; callers that must know it first (Messages, Responses) pass it back."""
        # A fresh catalogue hit needs no IO, so the hot path skips the thread hop.
        cached = self._resolver.resolve_cached(model_id, types=CHAT_TYPES)
        return cached if cached is not None else await CALLS.run(self.resolve, model_id)

    def backend(self, target: Target) -> ChatBackend[Any]:
        factory = self._backends.get(target.source)
        if factory is None:
            raise ModelNotFoundError(f"The model '{target.id}' has no chat backend", param="model")
        return factory()

    async def complete(self, request: ChatCompletionRequest, target: Target | None = None) -> ChatCompletion:
        target = target or await self.target(request.model)
        completion = await self.backend(target).complete(request, target)
        count_usage(request.model, completion.usage)
        return completion

    async def stream(
        self, request: ChatCompletionRequest, target: Target | None = None
    ) -> tuple[list[ChatCompletionChunk], AsyncIterator[ChatCompletionChunk]]:
        """The first chunk (pulled now, so its errors get a real status) and the rest."""
        target = target or await self.target(request.model)
        # The meter needs the usage of every stream, so it is always asked for and kept
        # from a client that did not ask for it.
        wants_usage = bool(request.stream_options and request.stream_options.include_usage)
        if not wants_usage and metering():
            options = (request.stream_options or StreamOptions()).model_copy(update={"include_usage": True})
            request = request.model_copy(update={"stream_options": options})
        chunks = metered_chunks(
            request.model, self.backend(target).stream(request, target), strip=not wants_usage
        )
        try:
            first = await chunks.__anext__()
        except StopAsyncIteration:
            return [], chunks
        except BaseException:
            await close_quietly(chunks)
            raise
        return [first], chunks
