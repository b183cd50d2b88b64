"""The Bedrock chat backend: Converse and ConverseStream through an injected boto3 client.

boto3 blocks, so calls run on worker threads and streams are read by the shared pump
(`relay.backends.streaming`). Closing the async iterator (the client went away) closes
botocore's EventStream, which drops the upstream connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.bedrock.errors import map_bedrock_error
from relay.backends.images import ImageFetcher
from relay.backends.streaming import pump
from relay.backends.threads import CALLS
from relay.capabilities.families import Family, family_of
from relay.errors import RelayError, UpstreamError
from relay.ids import hex_id
from relay.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ImagePart
from relay.targets import BedrockTarget
from relay.translate.bedrock.chat import Defaults, response_options, to_converse
from relay.translate.bedrock.response import from_converse
from relay.translate.bedrock.stream import StreamState, converse_event_to_chunks, usage_chunk
from relay.translate.chunks import completion_as_chunks, merge_completions, merge_streams, sum_usage


def new_id() -> str:
    return f"chatcmpl-{hex_id()}"


def image_urls(request: ChatCompletionRequest) -> list[tuple[str, str]]:
    urls = []
    for i, message in enumerate(request.messages):
        content = getattr(message, "content", None)
        if isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, ImagePart) and part.image_url.url.startswith(("http://", "https://")):
                    urls.append((part.image_url.url, f"messages[{i}].content[{j}]"))
    return urls


class BedrockChatBackend:
    def __init__(self, client: Any, *, defaults: Defaults, images: ImageFetcher) -> None:
        self._client = client
        self._defaults = defaults
        self._images = images

    async def _prepare(
        self, request: ChatCompletionRequest, target: BedrockTarget
    ) -> tuple[Family, dict[str, Any]]:
        family = family_of(target.id)
        urls = image_urls(request)
        images = await self._images.fetch_all(urls) if urls and family.vision else {}
        model_id = target.profile_arn or target.id
        kwargs = to_converse(request, family, model_id=model_id, images=images, defaults=self._defaults)
        return family, kwargs

    def _converse(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self._client.converse(**kwargs)
            return result
        except (ClientError, BotoCoreError) as exc:
            raise map_bedrock_error(exc, kwargs["modelId"]) from exc

    def _call(self, kwargs: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        # On a worker thread (relay.backends.threads), in the request's context.
        return CALLS.run(self._converse, kwargs)

    async def complete(self, request: ChatCompletionRequest, target: BedrockTarget) -> ChatCompletion:
        family, kwargs = await self._prepare(request, target)
        return await self._complete(request, family, kwargs)

    async def _complete(
        self, request: ChatCompletionRequest, family: Family, kwargs: dict[str, Any]
    ) -> ChatCompletion:
        options = response_options(request, family)
        chat_id = new_id()
        n = request.n or 1
        if n == 1:
            raw = await self._call(kwargs)
            return from_converse(raw, options, id=chat_id)
        # Bedrock has no `n`: one call per choice, in parallel.
        raws = await asyncio.gather(*(self._call(kwargs) for _ in range(n)))
        return merge_completions(
            [from_converse(raw, options, id=chat_id, index=i) for i, raw in enumerate(raws)]
        )

    async def stream(
        self, request: ChatCompletionRequest, target: BedrockTarget
    ) -> AsyncIterator[ChatCompletionChunk]:
        family, kwargs = await self._prepare(request, target)
        options = response_options(request, family)
        if "toolConfig" in kwargs and not family.streaming_tools:
            # The model cannot stream tool use: answer in one call and replay it as chunks
            # (with the request already prepared: its images are not fetched twice).
            completion = await self._complete(request, family, kwargs)
            for chunk in completion_as_chunks(completion, include_usage=options.include_usage):
                yield chunk
            return
        chat_id = new_id()
        n = request.n or 1
        states = [StreamState(chat_id, options, index=i, emit_usage=n == 1) for i in range(n)]
        sources = [self._chunks(kwargs, state) for state in states]
        merged = sources[0] if n == 1 else merge_streams(sources)
        try:
            async for chunk in merged:
                yield chunk
        finally:
            await merged.aclose()
        if n > 1 and options.include_usage:
            total = sum_usage([s.usage for s in states])
            if total is not None:
                yield usage_chunk(states[0], total)

    async def _chunks(
        self, kwargs: dict[str, Any], state: StreamState
    ) -> AsyncGenerator[ChatCompletionChunk, None]:
        events = self._events(kwargs)
        try:
            async for event in events:
                for chunk in converse_event_to_chunks(event, state):
                    yield chunk
        finally:
            await events.aclose()

    def _events(self, kwargs: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        model = kwargs["modelId"]

        def open_stream() -> Any:
            return self._client.converse_stream(**kwargs)["stream"]

        def map_error(exc: BaseException) -> BaseException:
            if isinstance(exc, ClientError | BotoCoreError):
                return map_bedrock_error(exc, model)
            if isinstance(exc, RelayError):
                return exc
            return UpstreamError(f"The stream from {model} broke")

        return pump(open_stream, map_error=map_error)
