"""Blocking calls (boto3) off the event loop, with the cheapest hop there is.

`loop.run_in_executor` goes through a `concurrent.futures.Future` (a lock and a condition),
a done-callback chained onto an asyncio future, and the executor's own bookkeeping; measured
here it costs ~75 µs of the loop thread's CPU and ~135 µs of wall time per call, which is most
of what a gateway adds to a short model call. A `Workers` pool hands the call to a thread over
one `SimpleQueue` and the thread answers with one `call_soon_threadsafe` that resolves the
asyncio future: ~40 µs and ~80 µs (`make bench` reports the effect end to end).

The call runs in a copy of the caller's context, so log lines and the usage meter of the
request that made it still apply on the worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
_Job = tuple[
    asyncio.AbstractEventLoop | None, "asyncio.Future[Any] | None", contextvars.Context, Callable[[], Any]
]


class Workers:
    """Up to `size` daemon threads, started as the load needs them and kept."""

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._jobs: SimpleQueue[_Job] = SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._started = 0

    def run(self, call: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> asyncio.Future[R]:
        """`call(*args, **kwargs)` on a worker thread; await the returned future for its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._put((loop, future, contextvars.copy_context(), _bind(call, args, kwargs)))
        return future

    def start(self, call: Callable[P, Any], /, *args: P.args, **kwargs: P.kwargs) -> None:
        """`call(*args, **kwargs)` on a worker thread, nobody waiting for its result (it must
        report its own outcome, as a stream's pump does)."""
        self._put((None, None, contextvars.copy_context(), _bind(call, args, kwargs)))

    def _put(self, job: _Job) -> None:
        with self._lock:
            if self._idle:
                self._idle -= 1
            elif self._started < self._size:
                self._started += 1
                threading.Thread(target=self._work, name=f"{self._name}_{self._started}", daemon=True).start()
            # else every thread is busy: the job waits in the queue for the first one free
        self._jobs.put(job)

    def _work(self) -> None:
        jobs = self._jobs
        while True:
            loop, future, context, call = jobs.get()
            try:
                result = context.run(call)
            except BaseException as exc:  # handed to the caller, whatever it is
                if loop is not None and future is not None:
                    _answer(loop, _fail, future, exc)
            else:
                if loop is not None and future is not None:
                    _answer(loop, _succeed, future, result)
            del loop, future, context, call  # nothing held while idle
            with self._lock:
                self._idle += 1


def _bind(call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[], Any]:
    if kwargs:
        return lambda: call(*args, **kwargs)
    if args:
        return lambda: call(*args)
    return call


def _answer(
    loop: asyncio.AbstractEventLoop,
    settle: Callable[[asyncio.Future[Any], Any], None],
    future: asyncio.Future[Any],
    value: Any,
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
        loop.call_soon_threadsafe(settle, future, value)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the caller may have been cancelled
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


# Calls that answer once (Converse, InvokeModel, InvokeEndpoint, key and model lookups).
CALLS = Workers(64, "call")
# Streams: a thread reads one upstream stream for as long as it lasts.
PUMPS = Workers(256, "stream-pump")
