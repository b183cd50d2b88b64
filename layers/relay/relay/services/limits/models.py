"""Shared request counters per key: what a request is checked against, and why one is refused.

One counter item per key holds the current fixed UTC minute (`window`, its requests and
tokens) and the current budget period (`period`, its tokens). Requests are admitted by one
conditional increment of the minute's requests (by one, or by an instance's lease of several
slots); tokens are added after the response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Reason = Literal["budget", "requests", "tokens"]
NO_PERIOD = "-"  # the period label of a key without a budget


@dataclass(frozen=True)
class Limits:
    """What one request is checked against, for the minute and period it falls in."""

    rpm: int | None
    tpm: int | None
    budget: int | None
    window: int  # UNIX seconds at the start of the UTC minute
    period: str  # e.g. "2026-12-01" or "2026-12"; NO_PERIOD without a budget
    expires_at: int  # when the counter item may go (the table's TTL attribute)
    slots: int = 1  # requests this write reserves (an instance's lease; 1 near a limit)


@dataclass(frozen=True)
class Counters:
    window: int
    requests: int
    window_tokens: int
    period: str
    period_tokens: int


EMPTY = Counters(window=-1, requests=0, window_tokens=0, period="", period_tokens=0)


def current(counters: Counters, limits: Limits) -> bool:
    """Whether the counters are for the request's own minute and period (else they roll over)."""
    return counters.window == limits.window and counters.period == limits.period


def refusal(counters: Counters, limits: Limits) -> Reason | None:
    """Why current counters refuse `limits.slots` more requests, if they do (the budget first)."""
    if (
        limits.budget is not None
        and counters.period == limits.period
        and counters.period_tokens >= limits.budget
    ):
        return "budget"
    if counters.window != limits.window:
        return None
    if limits.rpm is not None and counters.requests + limits.slots > limits.rpm:
        return "requests"
    if limits.tpm is not None and counters.window_tokens >= limits.tpm:
        return "tokens"
    return None


class LimitReachedError(Exception):
    """A counter refused the request; carries what the counters held."""

    def __init__(self, reason: Reason, counters: Counters) -> None:
        super().__init__(reason)
        self.reason = reason
        self.counters = counters
