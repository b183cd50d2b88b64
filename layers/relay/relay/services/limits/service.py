"""Rate limits and token budgets per key, checked before any upstream call.

`admit` costs nothing for a key without limits; a limited key's request is admitted by a
slot of this instance's lease (no IO) or by one conditional counter write (see `leases.py`);
`settle` adds the request's tokens once its response has gone out. A refusal is
429 `rate_limit_exceeded` (the minute's requests or tokens) or `insufficient_quota` (the
period's budget), with `Retry-After` at the end of the minute or the period.

Tokens are counted after the response, so requests already admitted when the budget or
`tpm_limit` is reached still finish: at most the requests in flight at that moment overshoot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from relay.errors import RateLimitError
from relay.services.keys.models import Principal
from relay.services.keys.policy import KeyPolicy, minute_window, period_bounds
from relay.services.limits.leases import FLUSH_SECONDS, Lease, Unsent, lease_size, token_refusal
from relay.services.limits.models import NO_PERIOD, Counters, LimitReachedError, Limits, Reason
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
        self._lock = threading.Lock()  # guards the leases; never held across a write
        self._leases: dict[str, Lease] = {}
        self._unsent: dict[str, list[Unsent]] = {}  # tokens charged here, not yet written

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

    def admit_local(self, principal: Principal) -> Admission | None:
        """The admission when this instance's lease answers without IO (a refusal it knows is
        raised); None when `admit` must write. Cheap enough for the event loop."""
        policy = principal.policy
        if policy is None or not policy.limited:
            return None
        now = self._clock()
        limits = self.limits(policy, now)
        with self._lock:
            lease = self._leases.get(principal.key_id)
            if lease is None or not lease.covers(policy, limits):
                return None
            # The view only ever undercounts the shared counters, so its refusal stands.
            refused = lease.refused or token_refusal(lease.view, limits)
            if refused is not None:
                raise _refused(refused, policy, limits, lease.view, now)
            if lease.slots == 0:
                return None
            lease.slots -= 1
            return Admission(principal.key_id, policy, limits, lease.view, now)

    def admit(self, principal: Principal) -> Admission | None:
        """None for a key without limits (no IO); else the admission, or a 429 RelayError.

        A slot of this instance's lease admits without IO; otherwise one conditional write
        (two near the requests limit, when a lease of several slots no longer fits).
        """
        policy = principal.policy
        if policy is None or not policy.limited:
            return None
        local = self.admit_local(principal)
        if local is not None:
            return local
        now = self._clock()
        limits = self.limits(policy, now)
        key_id = principal.key_id
        with self._lock:
            lease = self._leases.get(key_id)
            if lease is not None and lease.policy != policy:
                lease = None  # a PATCH changed the limits: nothing reserved under the old ones counts
            view = lease.view if lease is not None else None
            average = lease.tokens_per_request if lease is not None else None
        slots = lease_size(limits, view, average)
        try:
            counters = self._reserve(key_id, limits, slots)
        except LimitReachedError as exc:
            self._store(key_id, Lease(policy, limits, 0, exc.counters, exc.reason, average))
            raise _refused(exc.reason, policy, limits, exc.counters, now) from None
        lease = Lease(policy, limits, counters.slots - 1, counters.counters, None, average, counters.slots)
        self._store(key_id, lease)
        return Admission(key_id, policy, limits, counters.counters, now)

    def _reserve(self, key_id: str, limits: Limits, slots: int) -> _Reserved:
        try:
            return _Reserved(self._counters.admit(key_id, replace(limits, slots=slots)), slots)
        except LimitReachedError as exc:
            if exc.reason != "requests" or slots == 1:
                raise
        return _Reserved(self._counters.admit(key_id, replace(limits, slots=1)), 1)

    def _store(self, key_id: str, lease: Lease) -> None:
        with self._lock:
            for entry in self._unsent.get(key_id, []):  # the written counters lack these yet
                if entry.period == lease.limits.period:
                    lease.charge(entry.tokens, in_window=entry.window == lease.limits.window)
            self._leases[key_id] = lease

    def charge(self, admission: Admission, tokens: int) -> None:
        """Count a request's tokens on this instance at once (no IO), before its last byte is
        sent: the same client's next request here already sees them. `settle` writes them."""
        if tokens <= 0 or (admission.policy.tpm_limit is None and admission.policy.token_budget is None):
            return
        limits = admission.limits
        with self._lock:
            lease = self._leases.get(admission.key_id)
            if lease is not None and lease.policy == admission.policy:
                lease.charge(tokens)
            unsent = self._unsent.setdefault(admission.key_id, [])
            if unsent and unsent[-1].window == limits.window and unsent[-1].period == limits.period:
                unsent[-1].tokens += tokens
            else:
                unsent.append(Unsent(limits.window, limits.period, tokens, self._clock()))

    def settle(self, admission: Admission, tokens: int) -> None:
        """After the response: write the key's charged tokens when due (see `leases.py`), and
        any other key's that waited `FLUSH_SECONDS`."""
        now = self._clock()
        with self._lock:
            lease = self._leases.get(admission.key_id)
            if lease is not None and lease.policy == admission.policy:
                lease.observe(tokens, None)
            near = lease is None or lease.granted == 1 or lease.slots == 0
            due = [
                (key_id, self._unsent.pop(key_id))
                for key_id, unsent in list(self._unsent.items())
                if (key_id == admission.key_id and near) or now - unsent[0].since >= FLUSH_SECONDS
            ]
        for key_id, unsent in due:
            self._write(key_id, unsent)

    def flush(self) -> None:
        """Write every charged token now (at shutdown)."""
        with self._lock:
            due, self._unsent = list(self._unsent.items()), {}
        for key_id, unsent in due:
            self._write(key_id, unsent)

    def _write(self, key_id: str, unsent: list[Unsent]) -> None:
        for entry in unsent:
            counters = self._counters.add_tokens(key_id, entry.window, entry.period, entry.tokens)
            with self._lock:
                lease = self._leases.get(key_id)
                if lease is not None and counters is not None:
                    lease.observe_counters(counters)


@dataclass(frozen=True)
class _Reserved:
    counters: Counters
    slots: int


def _refused(
    reason: Reason, policy: KeyPolicy, limits: Limits, counters: Counters, now: float
) -> RateLimitError:
    headers = dict(limit_headers(policy, limits, counters, now))
    if reason == "budget" and policy.token_budget is not None:
        _, _, end = period_bounds(policy.token_budget.period, now)
        error: RateLimitError = QuotaExceededError(
            f"This key has used its token budget of {policy.token_budget.limit} for the "
            f"{policy.token_budget.period} (UTC); it renews at {end}",
            retry_after=max(1, end - int(now)),
            headers=headers,
        )
        return error
    what = "requests" if reason == "requests" else "tokens"
    limit = policy.rpm_limit if reason == "requests" else policy.tpm_limit
    return RateLimitError(
        f"Rate limit reached: {limit} {what} per minute for this key; try again in "
        f"{limits.window + 60 - int(now)} s",
        retry_after=max(1, limits.window + 60 - int(now)),
        headers=headers,
    )
