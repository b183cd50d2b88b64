"""Daemon threads the local stack runs until it stops (SQS pollers, schedule tickers), and the
one log line for a function that failed on what such a thread handed it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any


class Daemons:
    """Threads started with `spawn` that watch `_stopped` and end when `stop` sets it."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    def spawn(self, target: Callable[..., None], args: tuple[Any, ...], name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()


def warn_failed(log: logging.Logger, result: dict[str, Any], what: str) -> None:
    """Log a FunctionError result of `functions.run`/`invoke` as Lambda reports it."""
    error = result["Payload"]
    log.warning("%s failed: %s: %s", what, error.get("errorType"), error.get("errorMessage"))
