"""The counter storage port and its in-memory fake (the same rules, under a lock)."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Protocol

from relay.services.limits.models import EMPTY, Counters, LimitReachedError, Limits, current, refusal


class LimitCounters(Protocol):
    def admit(self, key_id: str, limits: Limits) -> Counters:
        """Count `limits.slots` requests if the limits allow them; the counters after, or
        LimitReachedError.

        Atomic across instances: concurrent callers never count past a limit.
        """
        ...

    def add_tokens(self, key_id: str, window: int, period: str, tokens: int) -> Counters | None:
        """Add a finished request's tokens to its minute (if still current) and its period;
        the counters after it (None when the period has rolled over and nothing was added)."""
        ...


class InMemoryLimitCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[str, Counters] = {}

    def admit(self, key_id: str, limits: Limits) -> Counters:
        with self._lock:
            found = self.items.get(key_id, EMPTY)
            reason = refusal(found, limits)
            if reason is not None:
                raise LimitReachedError(reason, found)
            if current(found, limits):
                counted = replace(found, requests=found.requests + limits.slots)
            else:
                same_period = found.period == limits.period
                counted = Counters(
                    window=limits.window,
                    requests=limits.slots,
                    window_tokens=0,
                    period=limits.period,
                    period_tokens=found.period_tokens if same_period else 0,
                )
            self.items[key_id] = counted
            return counted

    def add_tokens(self, key_id: str, window: int, period: str, tokens: int) -> Counters | None:
        with self._lock:
            found = self.items.get(key_id)
            if found is None or found.period != period:
                return None  # the period rolled over: these tokens belonged to the last one
            in_window = found.window == window
            self.items[key_id] = replace(
                found,
                window_tokens=found.window_tokens + tokens if in_window else found.window_tokens,
                period_tokens=found.period_tokens + tokens,
            )
            return self.items[key_id]
