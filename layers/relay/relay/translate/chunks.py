"""Backend-neutral helpers over OpenAI chat shapes: merging `n` choices, replaying as chunks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from typing import TypeVar

from relay.protocol.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChoiceDelta,
    ChoiceDeltaFunctionCall,
    ChoiceDeltaToolCall,
    ChunkChoice,
    CompletionTokensDetails,
    CompletionUsage,
    PromptTokensDetails,
)

T = TypeVar("T")


def sum_usage(usages: list[CompletionUsage | None]) -> CompletionUsage | None:
    """Usage over several calls for one request (each call paid for its prompt)."""
    present = [u for u in usages if u is not None]
    if not present:
        return None
    total = CompletionUsage(
        completion_tokens=sum(u.completion_tokens for u in present),
        prompt_tokens=sum(u.prompt_tokens for u in present),
        total_tokens=sum(u.total_tokens for u in present),
    )
    cached = [u.prompt_tokens_details for u in present if u.prompt_tokens_details is not None]
    if cached:
        total.prompt_tokens_details = PromptTokensDetails(
            cached_tokens=sum(d.cached_tokens or 0 for d in cached),
            cache_write_tokens=sum(d.cache_write_tokens or 0 for d in cached),
        )
    reasoning = [u.completion_tokens_details for u in present if u.completion_tokens_details is not None]
    if reasoning:
        total.completion_tokens_details = CompletionTokensDetails(
            reasoning_tokens=sum(d.reasoning_tokens or 0 for d in reasoning)
        )
    return total


def merge_completions(completions: list[ChatCompletion]) -> ChatCompletion:
    """One completion whose choices are each completion's first choice, indexed in order."""
    first = completions[0]
    choices = []
    for index, completion in enumerate(completions):
        choice = completion.choices[0].model_copy(update={"index": index})
        choices.append(choice)
    return first.model_copy(update={"choices": choices, "usage": sum_usage([c.usage for c in completions])})


def completion_as_chunks(completion: ChatCompletion, *, include_usage: bool) -> Iterator[ChatCompletionChunk]:
    """Replay a finished completion as the chunks a stream would have carried."""

    def chunk(index: int, delta: ChoiceDelta, finish: str | None = None) -> ChatCompletionChunk:
        choice = ChunkChoice(delta=delta, finish_reason=finish, index=index)  # type: ignore[arg-type]
        return ChatCompletionChunk(
            id=completion.id, choices=[choice], created=completion.created, model=completion.model
        )

    for choice in completion.choices:
        message = choice.message
        yield chunk(choice.index, ChoiceDelta(role="assistant", content=""))
        if message.reasoning_content:
            yield chunk(choice.index, ChoiceDelta(reasoning_content=message.reasoning_content))
        if message.reasoning_signature:
            yield chunk(choice.index, ChoiceDelta(reasoning_signature=message.reasoning_signature))
        if message.content:
            yield chunk(choice.index, ChoiceDelta(content=message.content))
        for position, call in enumerate(message.tool_calls or []):
            function = ChoiceDeltaFunctionCall(name=call.function.name, arguments=call.function.arguments)
            delta_call = ChoiceDeltaToolCall(index=position, id=call.id, type="function", function=function)
            yield chunk(choice.index, ChoiceDelta(tool_calls=[delta_call]))
        if message.function_call is not None:
            legacy = ChoiceDeltaFunctionCall(
                name=message.function_call.name, arguments=message.function_call.arguments
            )
            yield chunk(choice.index, ChoiceDelta(function_call=legacy))
        yield chunk(choice.index, ChoiceDelta(), choice.finish_reason)
    if include_usage and completion.usage is not None:
        yield ChatCompletionChunk(
            id=completion.id,
            choices=[],
            created=completion.created,
            model=completion.model,
            usage=completion.usage,
        )


async def merge_streams(sources: Sequence[AsyncIterator[T]]) -> AsyncGenerator[T, None]:
    """Interleave several streams as items arrive; the first error ends all of them."""
    queue: asyncio.Queue[tuple[int, T | None, BaseException | None]] = asyncio.Queue()

    async def drain(position: int, source: AsyncIterator[T]) -> None:
        try:
            async for item in source:
                await queue.put((position, item, None))
        except Exception as exc:
            await queue.put((position, None, exc))
            return
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
        await queue.put((position, None, None))

    tasks = [asyncio.create_task(drain(i, s)) for i, s in enumerate(sources)]
    remaining = len(tasks)
    try:
        while remaining:
            _, item, error = await queue.get()
            if error is not None:
                raise error
            if item is None:
                remaining -= 1
                continue
            yield item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
