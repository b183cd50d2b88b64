"""Server-sent events for OpenAI-style streams.

Rules (ARCHITECTURE.md): an error before the first byte is a normal error response with
its real status, so routes pull the first event *before* building the response; an
error after it becomes an `error` event followed by `data: [DONE]`. Each chunk is
written as soon as it exists; nothing is buffered.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from relay.errors import RelayError
from relay.http.envelope import openai_error_body
from relay.observability import logger

DONE = b"data: [DONE]\n\n"
_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"connection", b"keep-alive"),
    # Proxies such as nginx buffer event streams unless told not to.
    (b"x-accel-buffering", b"no"),
]
_JSON_HEADERS = [(b"content-type", b"application/json")]


def model_json(model: Any) -> bytes:
    """A pydantic model as compact JSON bytes, straight from pydantic's serializer (no
    str round trip). Text with lone surrogates (a JSON `\\ud800` in the request, echoed by a
    model) cannot be UTF-8: pydantic refuses it, so such text is written with ASCII escapes
    instead of failing the response."""
    try:
        data: bytes = model.__pydantic_serializer__.to_json(model, exclude_none=True)
        return data
    except (ValueError, UnicodeError):
        return json.dumps(model.model_dump(exclude_none=True), separators=(",", ":")).encode()


class JSONBytesResponse(Response):
    """JSON already serialised: the body and two headers, nothing rendered again."""

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]


def json_response(model: Any) -> Response:
    return JSONBytesResponse(model_json(model))


def sse_event(data: Any) -> bytes:
    """One `data:` frame; `data` is a dict, a pydantic model, or pre-serialised JSON bytes."""
    if isinstance(data, bytes):
        payload = data
    elif hasattr(data, "__pydantic_serializer__"):
        payload = model_json(data)
    else:
        try:
            payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        except UnicodeEncodeError:
            payload = json.dumps(data, separators=(",", ":")).encode()
    return b"data: %b\n\n" % payload


async def _frames(first: list[Any], rest: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    try:
        for item in first:
            yield sse_event(item)
        try:
            async for item in rest:
                yield sse_event(item)
        except RelayError as exc:
            yield sse_event(openai_error_body(exc))
        except Exception:
            logger.exception("stream failed after its first byte")
            yield sse_event(openai_error_body(RelayError("The stream failed; see the request id")))
        yield DONE
    finally:
        aclose = getattr(rest, "aclose", None)
        if aclose is not None:
            await aclose()


class EventStreamResponse(Response):
    """An event stream written frame by frame as the frames exist; nothing is buffered.

    The client going away closes the body at once, which closes the upstream model stream
    (otherwise it would run on, and be billed, until the generator is collected). A send
    after a disconnect is silently dropped by the server, so a watcher on `receive` is what
    notices; it starts after the first frame, so time to first token does not pay for it,
    and it is one task per stream rather than a task group.
    """

    def __init__(self, frames: AsyncIterator[bytes]) -> None:
        self.body_iterator = frames
        self.status_code = 200
        self.background = None
        self.raw_headers = list(_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        frames = self.body_iterator
        task = asyncio.current_task()
        watcher: asyncio.Task[None] | None = None
        taken = False  # the watcher's cancel of this task has been received
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for frame in frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
                if watcher is None:
                    watcher = _watch(receive, task)
            if not _client_left(watcher):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if task is None or not _client_left(watcher):
                raise
            task.uncancel()  # the watcher's: the client left, and nothing more is sent
            taken = True
        finally:
            if watcher is not None and not watcher.done():
                watcher.cancel()
            elif task is not None and _client_left(watcher) and not taken:
                try:  # the watcher's cancel is still pending here: take it before closing
                    await asyncio.sleep(0)
                except asyncio.CancelledError:
                    task.uncancel()
            aclose = getattr(frames, "aclose", None)
            if aclose is not None:
                await aclose()


def _client_left(watcher: asyncio.Task[None] | None) -> bool:
    return watcher is not None and watcher.done() and not watcher.cancelled()


def _watch(receive: Receive, streaming: asyncio.Task[Any] | None) -> asyncio.Task[None]:
    async def wait_for_disconnect() -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                break
        if streaming is not None:
            streaming.cancel()

    return asyncio.ensure_future(wait_for_disconnect())


def named_event(kind: str, data: Any) -> bytes:
    """An `event: <kind>` frame, as Anthropic's and OpenAI Responses' streams carry them."""
    return b"event: %b\n%b" % (kind.encode(), sse_event(data))


def event_stream_response(frames: AsyncIterator[bytes]) -> Response:
    """A streaming response of frames already encoded (the caller handles errors mid-stream)."""
    return EventStreamResponse(frames)


def sse_response(first: list[Any], rest: AsyncIterator[Any]) -> Response:
    """A streaming response whose first events are already known to have succeeded."""
    return EventStreamResponse(_frames(first, rest))
