"""Server-sent events for OpenAI-style streams.

Rules (ARCHITECTURE.md): an error before the first byte is a normal error response with
its real status, so routes pull the first event *before* building the response; an
error after it becomes an `error` event followed by `data: [DONE]`. Each chunk is
written as soon as it exists; nothing is buffered.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from relay.errors import RelayError
from relay.http.envelope import openai_error_body
from relay.observability import logger

DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    # Proxies such as nginx buffer event streams unless told not to.
    "X-Accel-Buffering": "no",
}


def model_json(model: Any) -> bytes:
    """A pydantic model as compact JSON. Text with lone surrogates (a JSON `\\ud800` in the
    request, echoed by a model) cannot be UTF-8: pydantic refuses it, so such text is
    written with ASCII escapes instead of failing the response."""
    try:
        return bytes(model.model_dump_json(exclude_none=True).encode())
    except (ValueError, UnicodeError):
        return json.dumps(model.model_dump(exclude_none=True), separators=(",", ":")).encode()


def sse_event(data: Any) -> bytes:
    """One `data:` frame; `data` is a dict, a pydantic model, or pre-serialised JSON bytes."""
    if isinstance(data, bytes):
        payload = data
    elif hasattr(data, "model_dump_json"):
        payload = model_json(data)
    else:
        try:
            payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        except UnicodeEncodeError:
            payload = json.dumps(data, separators=(",", ":")).encode()
    return b"data: " + payload + b"\n\n"


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


class _EventStreamResponse(StreamingResponse):
    """Closes its body when the client goes away.

    Starlette stops iterating a streaming body when the client disconnects but leaves the
    generator to the garbage collector, so the upstream model stream would run on (and be
    billed) until some later collection. Closing it here closes upstream at once.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()


def named_event(kind: str, data: Any) -> bytes:
    """An `event: <kind>` frame, as Anthropic's and OpenAI Responses' streams carry them."""
    return b"event: " + kind.encode() + b"\n" + sse_event(data)


def event_stream_response(frames: AsyncIterator[bytes]) -> StreamingResponse:
    """A streaming response of frames already encoded (the caller handles errors mid-stream)."""
    return _EventStreamResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)


def sse_response(first: list[Any], rest: AsyncIterator[Any]) -> StreamingResponse:
    """A streaming response whose first events are already known to have succeeded."""
    return _EventStreamResponse(_frames(first, rest), media_type="text/event-stream", headers=SSE_HEADERS)
