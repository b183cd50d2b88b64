"""`POST /v1/completions`: legacy text completions served by chat models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from relay.http.routes.chat import json_response
from relay.http.security import require_key, services_of
from relay.http.sse import sse_response
from relay.protocol.chat import ChatCompletionChunk
from relay.protocol.completions import CompletionRequest
from relay.translate.chunks import merge_streams
from relay.translate.completions import (
    CompletionStreamState,
    chat_to_completion,
    chunk_to_completion,
    to_chat_requests,
)

router = APIRouter(dependencies=[Depends(require_key)])


async def _prefixed(
    first: list[ChatCompletionChunk], rest: AsyncIterator[ChatCompletionChunk], prompt: int
) -> AsyncGenerator[tuple[int, ChatCompletionChunk], None]:
    for chunk in first:
        yield prompt, chunk
    async for chunk in rest:
        yield prompt, chunk


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request) -> Response:
    chat = services_of(request).chat
    chat_requests = to_chat_requests(body)
    n = body.n or 1
    if not body.stream:
        results = await asyncio.gather(*(chat.complete(r) for r in chat_requests))
        return json_response(chat_to_completion(results, n=n, model=body.model))
    # Pull every prompt's first chunk before answering, so early errors keep their status.
    started = await asyncio.gather(*(chat.stream(r) for r in chat_requests))
    sources = [_prefixed(first, rest, i) for i, (first, rest) in enumerate(started)]
    merged = sources[0] if len(sources) == 1 else merge_streams(sources)
    state = CompletionStreamState(model=body.model, n=n, prompts=len(sources))

    async def converted() -> AsyncIterator[object]:
        async for prompt, chunk in merged:
            for item in chunk_to_completion(chunk, prompt, state):
                yield item

    stream = converted()
    try:
        first_items = [await stream.__anext__()]
    except StopAsyncIteration:
        first_items = []
    return sse_response(first_items, stream)
