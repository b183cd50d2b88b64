"""`/v1/completions`: legacy text completions fanned out as one chat request per prompt.

Models whose container serves completions itself (OpenAI-compatible SageMaker servers) get
the request as it is, through `NativeCompletions`. Several prompts start several upstream calls. When one fails, the others are cancelled or
closed before the error is raised, so no upstream stream is left running (and billed) for
a request that has already failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Protocol

from relay.protocol.chat import ChatCompletionChunk, ChatCompletionRequest, StreamOptions
from relay.protocol.completions import Completion, CompletionRequest
from relay.services.chat import ChatService, close_quietly
from relay.services.usage.meter import count_usage, metered_chunks, metering
from relay.targets import Target
from relay.translate.chunks import merge_streams
from relay.translate.completions import (
    CompletionStreamState,
    chat_to_completion,
    chunk_to_completion,
    to_chat_requests,
)

Started = tuple[list[ChatCompletionChunk], AsyncIterator[ChatCompletionChunk]]


async def _prefixed(
    first: list[ChatCompletionChunk], rest: AsyncIterator[ChatCompletionChunk], prompt: int
) -> AsyncGenerator[tuple[int, ChatCompletionChunk], None]:
    try:
        for chunk in first:
            yield prompt, chunk
        async for chunk in rest:
            yield prompt, chunk
    finally:
        await close_quietly(rest)


class NativeCompletions(Protocol):
    """A backend whose models answer completions bodies themselves."""

    def serves(self, target: Target) -> bool: ...

    async def complete(self, request: CompletionRequest, target: Any) -> Completion: ...

    def stream(self, request: CompletionRequest, target: Any) -> AsyncIterator[Completion]: ...


class CompletionService:
    def __init__(self, chat: ChatService, native: NativeCompletions | None = None) -> None:
        self._chat = chat
        self._native = native

    async def _native_target(self, body: CompletionRequest) -> Target | None:
        if self._native is None:
            return None
        target = await self._chat.target(body.model)
        return target if self._native.serves(target) else None

    async def complete(self, body: CompletionRequest) -> Completion:
        target = await self._native_target(body)
        if target is not None and self._native is not None:
            completion = await self._native.complete(body, target)
            count_usage(body.model, completion.usage)
            return completion
        requests = to_chat_requests(body)
        tasks = [asyncio.ensure_future(self._chat.complete(r)) for r in requests]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return chat_to_completion(list(results), n=body.n or 1, model=body.model)

    async def _start_all(self, requests: list[ChatCompletionRequest]) -> list[Started]:
        """Every prompt's first chunk, so early errors keep their status; on any failure the
        streams that did start are closed before the first error is raised."""
        outcomes = await asyncio.gather(*(self._chat.stream(r) for r in requests), return_exceptions=True)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if not failures:
            return [o for o in outcomes if not isinstance(o, BaseException)]
        for outcome in outcomes:
            if not isinstance(outcome, BaseException):
                await close_quietly(outcome[1])
        raise failures[0]

    async def stream(self, body: CompletionRequest) -> tuple[list[Completion], AsyncIterator[Completion]]:
        """The first completion chunk (pulled now, like chat) and the rest."""
        target = await self._native_target(body)
        if target is not None and self._native is not None:
            wants_usage = bool(body.stream_options and body.stream_options.include_usage)
            if not wants_usage and metering():  # the meter needs it; the client is not shown it
                options = (body.stream_options or StreamOptions()).model_copy(update={"include_usage": True})
                body = body.model_copy(update={"stream_options": options})
            stream: AsyncIterator[Completion] = metered_chunks(
                body.model, self._native.stream(body, target), strip=not wants_usage
            )
        else:
            started = await self._start_all(to_chat_requests(body))
            sources = [_prefixed(first, rest, i) for i, (first, rest) in enumerate(started)]
            merged = sources[0] if len(sources) == 1 else merge_streams(sources)
            state = CompletionStreamState(model=body.model, n=body.n or 1, prompts=len(sources))
            stream = _converted(merged, state)
        try:
            return [await stream.__anext__()], stream
        except StopAsyncIteration:
            return [], stream
        except BaseException:
            await close_quietly(stream)
            raise


async def _converted(
    merged: AsyncIterator[tuple[int, ChatCompletionChunk]], state: CompletionStreamState
) -> AsyncGenerator[Completion, None]:
    try:
        async for prompt, chunk in merged:
            for item in chunk_to_completion(chunk, prompt, state):
                yield item
    finally:
        await close_quietly(merged)
