"""Rate limits and token budgets per key, checked before any upstream call.

`admit` costs nothing for a key without limits and one conditional counter write for a
limited one; `settle` adds the request's tokens once its response has gone out. A refusal is
429 `rate_limit_exceeded` (the minute's requests or tokens) or `insufficient_quota` (the
period's budget), with `Retry-After` at the end of the minute or the period.

Tokens are counted after the response, so requests already admitted when the budget or
`tpm_limit` is reached still finish: at most the requests in flight at that moment overshoot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from relay.errors import RateLimitError
from relay.services.keys.models import Principal
from relay.services.keys.policy import KeyPolicy, minute_window, period_bounds
from relay.services.limits.models import NO_PERIOD, Counters, LimitReachedError, Limits
from relay.services.limits.repository import LimitCounters

_GRACE = 86400  # counters outlive their minute and period by a day (TTL deletion is lazy anyway)


class QuotaExceededError(RateLimitError):
    """OpenAI's answer for an exhausted quota; its SDK raises RateLimitError with this code."""

    type = "insufficient_quota"
    code = "insufficient_quota"


@dataclass(frozen=True)
class Admission:
    key_id: str
    policy: KeyPolicy
    limits: Limits
    counters: Counters
    now: float

    def headers(self) -> list[tuple[str, str]]:
        return limit_headers(self.policy, self.limits, self.counters, self.now)


def limit_headers(policy: KeyPolicy, limits: Limits, counters: Counters, now: float) -> list[tuple[str, str]]:
    """OpenAI's `x-ratelimit-*` headers for the limits the key has."""
    reset = f"{max(1, limits.window + 60 - int(now))}s"
    same_window = counters.window == limits.window
    headers = []
    if policy.rpm_limit is not None:
        used = counters.requests if same_window else 0
        headers += [
            ("x-ratelimit-limit-requests", str(policy.rpm_limit)),
            ("x-ratelimit-remaining-requests", str(max(0, policy.rpm_limit - used))),
            ("x-ratelimit-reset-requests", reset),
        ]
    if policy.tpm_limit is not None:
        used = counters.window_tokens if same_window else 0
        headers += [
            ("x-ratelimit-limit-tokens", str(policy.tpm_limit)),
            ("x-ratelimit-remaining-tokens", str(max(0, policy.tpm_limit - used))),
            ("x-ratelimit-reset-tokens", reset),
        ]
    return headers


class Limiter:
    def __init__(self, counters: LimitCounters, clock: Callable[[], float] = time.time) -> None:
        self._counters = counters
        self._clock = clock

    def limits(self, policy: KeyPolicy, now: float) -> Limits:
        window = minute_window(now)
        expires = window + 60
        period = NO_PERIOD
        if policy.token_budget is not None:
            period, _, end = period_bounds(policy.token_budget.period, now)
            expires = max(expires, end)
        return Limits(
            rpm=policy.rpm_limit,
            tpm=policy.tpm_limit,
            budget=policy.token_budget.limit if policy.token_budget else None,
            window=window,
            period=period,
            expires_at=expires + _GRACE,
        )

    def admit(self, principal: Principal) -> Admission | None:
        """None for a key without limits (no IO); else the admission, or a 429 RelayError."""
        policy = principal.policy
        if policy is None or not policy.limited:
            return None
        now = self._clock()
        limits = self.limits(policy, now)
        try:
            counters = self._counters.admit(principal.key_id, limits)
        except LimitReachedError as exc:
            raise _refused(exc, policy, limits, now) from None
        return Admission(principal.key_id, policy, limits, counters, now)

    def settle(self, admission: Admission, tokens: int) -> None:
        if tokens > 0 and (
            admission.policy.tpm_limit is not None or admission.policy.token_budget is not None
        ):
            self._counters.add_tokens(
                admission.key_id, admission.limits.window, admission.limits.period, tokens
            )


def _refused(exc: LimitReachedError, policy: KeyPolicy, limits: Limits, now: float) -> RateLimitError:
    headers = dict(limit_headers(policy, limits, exc.counters, now))
    if exc.reason == "budget" and policy.token_budget is not None:
        _, _, end = period_bounds(policy.token_budget.period, now)
        error: RateLimitError = QuotaExceededError(
            f"This key has used its token budget of {policy.token_budget.limit} for the "
            f"{policy.token_budget.period} (UTC); it renews at {end}",
            retry_after=max(1, end - int(now)),
            headers=headers,
        )
        return error
    what = "requests" if exc.reason == "requests" else "tokens"
    limit = policy.rpm_limit if exc.reason == "requests" else policy.tpm_limit
    return RateLimitError(
        f"Rate limit reached: {limit} {what} per minute for this key; try again in "
        f"{limits.window + 60 - int(now)} s",
        retry_after=max(1, limits.window + 60 - int(now)),
        headers=headers,
    )
