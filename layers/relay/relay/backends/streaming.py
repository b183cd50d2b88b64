"""One thread pump for blocking upstream streams (ConverseStream, InvokeEndpointWithResponseStream).

boto3 blocks, so a stream is opened and read by one pump thread that hands items to the
event loop with `call_soon_threadsafe` (a few microseconds per item, instead of a
thread-pool round trip per item). The pump runs in a copy of the caller's context, so
log lines written while opening or reading keep the request id.

The pump reads at most `READ_AHEAD` items ahead of the consumer: a slow client slows the
upstream read instead of queueing the whole answer in memory, and a client that leaves
has not made the pump drain the stream. Closing the async iterator (the client went away)
closes the upstream stream at once, which drops its connection; the pump then stops.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from queue import SimpleQueue
from typing import Any, Protocol, TypeVar

from relay.backends.threads import PUMPS

T_co = TypeVar("T_co", covariant=True)
Item = TypeVar("Item")

# One long-lived thread per open stream (relay.backends.threads.PUMPS, 256 of them: far
# above what one Lambda instance or uvicorn worker serves at once).
# Items in flight between the pump and the consumer. Upstream chunks arrive far slower
# than the event loop takes them, so a small window costs no throughput.
READ_AHEAD = 4
_END = object()


class UpstreamStream(Protocol[T_co]):
    """What a backend opens: items to iterate, and a `close` that is safe from another thread."""

    def __iter__(self) -> Iterator[T_co]: ...

    def close(self) -> None: ...


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def pump(
    open_stream: Callable[[], UpstreamStream[Item]],
    *,
    map_error: Callable[[BaseException], BaseException],
) -> AsyncGenerator[Item, None]:
    """Items of the stream `open_stream` opens (on the pump thread), as they arrive.

    An error raised while opening or reading is raised here as `map_error(exc)`; an error
    before the first item therefore surfaces from the first `__anext__`.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    closed = threading.Event()
    # Credits are tokens in a SimpleQueue (C, a fraction of a microsecond each way), not a
    # threading.Semaphore (Python, a Condition and its lock on every release): one token
    # goes back per item taken.
    credits: SimpleQueue[None] = SimpleQueue()
    for _ in range(READ_AHEAD):
        credits.put(None)
    holder: dict[str, UpstreamStream[Item]] = {}

    def put(item: Any) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def run() -> None:
        try:
            stream = open_stream()
            holder["stream"] = stream
            if closed.is_set():  # the consumer left while we were connecting
                stream.close()
                return
            for item in stream:
                credits.get()  # wait for the consumer to take an earlier item
                if closed.is_set():  # the consumer left: stop reading now
                    break
                put(item)
        except BaseException as exc:  # handed to the consumer, which maps or drops it
            if not closed.is_set():
                put(_Failed(exc))
        finally:
            put(_END)

    PUMPS.start(run)  # in a copy of the caller's context
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                mapped = map_error(item.exc)
                if mapped is item.exc:
                    raise mapped
                raise mapped from item.exc
            credits.put(None)
            yield item
    finally:
        closed.set()
        credits.put(None)  # a pump waiting for a credit wakes, sees `closed` and stops
        stream = holder.get("stream")
        if stream is not None:
            # Inline, not on the pump pool: that pool's workers may all be busy reading
            # other streams, and a queued close would leave this upstream running.
            # Closing the socket is a syscall, not a wait.
            stream.close()
