"""The Bedrock chat backend: Converse and ConverseStream through an injected boto3 client.

boto3 blocks, so calls run on worker threads. A stream is read by one pump thread that
hands events to the event loop with `call_soon_threadsafe` (a few microseconds per event,
instead of a thread-pool round trip per event). Closing the async iterator (the client
went away) closes botocore's EventStream, which drops the upstream connection.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.bedrock.errors import map_bedrock_error
from relay.capabilities.families import Family, family_of
from relay.errors import RelayError, UpstreamError
from relay.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ImagePart
from relay.services.chat import ChatTarget
from relay.services.images import ImageFetcher
from relay.translate.bedrock.chat import Defaults, response_options, to_converse
from relay.translate.bedrock.response import from_converse
from relay.translate.bedrock.stream import StreamState, converse_event_to_chunks, usage_chunk
from relay.translate.chunks import completion_as_chunks, merge_completions, merge_streams, sum_usage

_PUMPS = ThreadPoolExecutor(max_workers=256, thread_name_prefix="converse-stream")
# Blocking Converse calls. A plain executor hop costs about half of anyio's
# run_sync (capacity limiter, cancel scopes): ~70 µs less on every request.
_CALLS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="converse")
_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def _image_urls(request: ChatCompletionRequest) -> list[tuple[str, str]]:
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
        self, request: ChatCompletionRequest, target: ChatTarget
    ) -> tuple[Family, dict[str, Any]]:
        family = family_of(target.id)
        urls = _image_urls(request)
        images = await self._images.fetch_all(urls) if urls and family.vision else {}
        kwargs = to_converse(request, family, model_id=target.id, images=images, defaults=self._defaults)
        return family, kwargs

    def _converse(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self._client.converse(**kwargs)
            return result
        except (ClientError, BotoCoreError) as exc:
            raise map_bedrock_error(exc, kwargs["modelId"]) from exc

    def _call(self, kwargs: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        # The context travels along so log lines from the call keep the request id.
        context = contextvars.copy_context()
        return asyncio.get_running_loop().run_in_executor(_CALLS, context.run, self._converse, kwargs)

    async def complete(self, request: ChatCompletionRequest, target: ChatTarget) -> ChatCompletion:
        family, kwargs = await self._prepare(request, target)
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
        self, request: ChatCompletionRequest, target: ChatTarget
    ) -> AsyncIterator[ChatCompletionChunk]:
        family, kwargs = await self._prepare(request, target)
        options = response_options(request, family)
        if "toolConfig" in kwargs and not family.streaming_tools:
            # The model cannot stream tool use: answer in one call and replay it as chunks.
            completion = await self.complete(request, target)
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

    async def _events(self, kwargs: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        closed = threading.Event()
        holder: dict[str, Any] = {}

        def put(item: Any) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def pump() -> None:
            try:
                stream = self._client.converse_stream(**kwargs)["stream"]
                holder["stream"] = stream
                if closed.is_set():  # the consumer left while we were connecting
                    stream.close()
                    return
                for event in stream:
                    if closed.is_set():  # the consumer left: stop reading now
                        break
                    put(event)
            except BaseException as exc:  # handed to the consumer, which maps or drops it
                if not closed.is_set():
                    put(_Failed(exc))
            finally:
                put(_END)

        _PUMPS.submit(pump)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    if isinstance(item.exc, ClientError | BotoCoreError):
                        raise map_bedrock_error(item.exc, kwargs["modelId"]) from item.exc
                    if isinstance(item.exc, RelayError):
                        raise item.exc
                    raise UpstreamError(f"The stream from {kwargs['modelId']} broke") from item.exc
                yield item
        finally:
            closed.set()
            stream = holder.get("stream")
            if stream is not None:
                # Inline, not on the pump pool: that pool's workers may all be busy reading
                # other streams, and a queued close would leave this upstream running.
                # Closing the socket is a syscall, not a wait.
                stream.close()
