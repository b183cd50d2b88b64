"""Which failures are worth another attempt, and how long to wait before it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from relay.errors import RelayError

# A 429 that says the budget is spent will not clear by waiting a few seconds.
_FINAL_CODES = frozenset({"insufficient_quota"})


def is_transient(error: RelayError) -> bool:
    """Throttling, 5xx and timeouts: the same request may well succeed a moment later."""
    if error.code in _FINAL_CODES:
        return False
    return error.status == 429 or error.status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in all; waits double from `base_delay` up to `max_delay`.

    A Retry-After the error carries is honoured when it asks for longer (up to `max_delay`):
    the service knows its own recovery time better than the doubling does.
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    def delay(self, attempt: int, error: RelayError) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        wait = self.base_delay * 2 ** (attempt - 1)
        retry_after = error.headers.get("Retry-After", "")
        if retry_after.isdigit():
            wait = max(wait, float(retry_after))
        return min(wait, self.max_delay)
