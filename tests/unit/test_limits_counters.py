"""Rate limits and budgets on both counter stores (the in-memory fake and DynamoDB on moto),
with an injected clock: minute rollover, budget rollover at the UTC day and month boundary,
and threads racing for the last unit."""

from __future__ import annotations

import calendar
import threading
from dataclasses import replace
from typing import Any

import pytest

from relay.errors import RateLimitError
from relay.services.keys.models import Principal
from relay.services.keys.policy import KeyPolicy, TokenBudget
from relay.services.limits.dynamodb import DynamoDBLimitCounters
from relay.services.limits.leases import MAX_SLOTS
from relay.services.limits.models import Limits
from relay.services.limits.repository import InMemoryLimitCounters, LimitCounters
from relay.services.limits.service import Admission, Limiter, QuotaExceededError
from tests.clock import Clock

pytestmark = pytest.mark.unit

# 2026-12-31 23:58:30 UTC: two minutes before a day, month and year boundary.
NEAR_MIDNIGHT = calendar.timegm((2026, 12, 31, 23, 58, 30))


class AtomicWrites:
    """The client with each UpdateItem atomic, as DynamoDB makes it (moto's backend is not
    thread-safe); the adapter's steps between calls still interleave freely."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def update_item(self, **kwargs: Any) -> Any:
        with self._lock:
            return self._client.update_item(**kwargs)


@pytest.fixture(params=["memory", "dynamodb"])
def counters(request: pytest.FixtureRequest) -> LimitCounters:
    if request.param == "memory":
        return InMemoryLimitCounters()
    return DynamoDBLimitCounters(AtomicWrites(request.getfixturevalue("moto_table")), "relay")


def finish(limiter: Limiter, admission: Admission, tokens: int) -> None:
    """What the HTTP layer does as a response ends: charge its tokens, then settle them."""
    limiter.charge(admission, tokens)
    limiter.settle(admission, tokens)


def key(**policy: Any) -> Principal:
    return Principal(key_id="k1", is_admin=False, policy=KeyPolicy(**policy))


def test_a_key_without_limits_never_touches_the_counters() -> None:
    class Refusing:
        def admit(self, *args: Any) -> Any:
            raise AssertionError("no counter call for an unlimited key")

        add_tokens = admit

    limiter = Limiter(Refusing())  # type: ignore[arg-type]
    assert limiter.admit(key()) is None
    assert limiter.admit(Principal(key_id="admin", is_admin=True)) is None


def test_requests_per_minute_refused_then_the_next_minute_admits(counters: LimitCounters) -> None:
    clock = Clock(NEAR_MIDNIGHT - 30)  # 23:58:00, the start of a minute
    limiter = Limiter(counters, clock)
    principal = key(rpm_limit=3)
    seen = [limiter.admit(principal) for _ in range(3)]
    assert [dict(a.headers())["x-ratelimit-remaining-requests"] for a in seen if a] == ["2", "1", "0"]
    clock.now += 59
    with pytest.raises(RateLimitError) as refused:
        limiter.admit(principal)
    assert refused.value.code == "rate_limit_exceeded" and refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "1"
    assert refused.value.headers["x-ratelimit-remaining-requests"] == "0"
    clock.now += 1  # 23:59:00: a new window
    admitted = limiter.admit(principal)
    assert admitted is not None
    assert dict(admitted.headers())["x-ratelimit-remaining-requests"] == "2"
    assert dict(admitted.headers())["x-ratelimit-reset-requests"] == "60s"


def test_tokens_per_minute_count_after_the_response(counters: LimitCounters) -> None:
    clock = Clock(NEAR_MIDNIGHT - 30)
    limiter = Limiter(counters, clock)
    principal = key(tpm_limit=100)
    first = limiter.admit(principal)
    assert first is not None
    second = limiter.admit(principal)  # in flight before the first one's tokens are known
    assert second is not None
    finish(limiter, first, 70)
    finish(limiter, second, 40)  # the in-flight request finishes: 110 of 100
    with pytest.raises(RateLimitError) as refused:
        limiter.admit(principal)
    assert refused.value.headers["x-ratelimit-remaining-tokens"] == "0"
    assert refused.value.headers["x-ratelimit-limit-tokens"] == "100"
    clock.now += 60
    assert limiter.admit(principal) is not None


def test_budget_refuses_until_the_utc_day_rolls(counters: LimitCounters) -> None:
    clock = Clock(NEAR_MIDNIGHT)
    limiter = Limiter(counters, clock)
    principal = key(token_budget=TokenBudget(limit=500, period="day"))
    crossing = limiter.admit(principal)
    assert crossing is not None
    finish(limiter, crossing, 600)  # the request that crosses the line completed
    clock.now += 61  # another minute, same day: the budget still holds
    with pytest.raises(QuotaExceededError) as refused:
        limiter.admit(principal)
    assert refused.value.code == "insufficient_quota" and refused.value.type == "insufficient_quota"
    assert refused.value.status == 429
    assert int(refused.value.headers["Retry-After"]) == calendar.timegm((2027, 1, 1, 0, 0, 0)) - int(
        clock.now
    )
    clock.now = calendar.timegm((2027, 1, 1, 0, 0, 0))  # midnight UTC
    assert limiter.admit(principal) is not None


def test_monthly_budget_carries_across_days_and_rolls_with_the_month(counters: LimitCounters) -> None:
    clock = Clock(calendar.timegm((2026, 12, 30, 12, 0, 0)))
    limiter = Limiter(counters, clock)
    principal = key(token_budget=TokenBudget(limit=1000, period="month"))
    admitted = limiter.admit(principal)
    assert admitted is not None
    finish(limiter, admitted, 1000)
    clock.now = calendar.timegm((2026, 12, 31, 8, 0, 0))  # the next day, same month
    with pytest.raises(QuotaExceededError):
        limiter.admit(principal)
    clock.now = calendar.timegm((2027, 1, 1, 0, 0, 5))
    assert limiter.admit(principal) is not None


def test_tokens_settled_after_the_minute_rolled_still_count_toward_the_budget(
    counters: LimitCounters,
) -> None:
    clock = Clock(NEAR_MIDNIGHT - 90)  # 23:57:00
    limiter = Limiter(counters, clock)
    principal = key(rpm_limit=10, token_budget=TokenBudget(limit=100, period="day"))
    slow = limiter.admit(principal)
    assert slow is not None
    clock.now += 60
    assert limiter.admit(principal) is not None  # a new minute rolls the window
    finish(limiter, slow, 150)  # the slow one ends in the new minute
    with pytest.raises(QuotaExceededError):
        limiter.admit(principal)


def test_threads_racing_for_the_last_requests_never_overshoot(counters: LimitCounters) -> None:
    clock = Clock(NEAR_MIDNIGHT - 30)
    limiter = Limiter(counters, clock)
    principal = key(rpm_limit=5)
    admitted: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def attempt() -> None:
        start.wait()
        try:
            ok = limiter.admit(principal) is not None
        except RateLimitError:
            ok = False
        with lock:
            admitted.append(ok)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 5 and admitted.count(False) == 7


def test_threads_racing_for_the_first_request_of_a_minute_count_every_one(counters: LimitCounters) -> None:
    # Every thread finds last minute's counters and tries to roll them: one wins, the others
    # count against its new window, so nothing is lost or double-reset.
    limiter = Limiter(counters, Clock(NEAR_MIDNIGHT - 90))
    policy = KeyPolicy(rpm_limit=100)
    old = limiter.limits(policy, NEAR_MIDNIGHT - 90)
    counters.admit("k1", old)
    new = limiter.limits(policy, NEAR_MIDNIGHT - 30)
    start = threading.Barrier(8)

    def attempt() -> None:
        start.wait()
        counters.admit("k1", replace(new, slots=3))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters.admit("k1", new).requests == 8 * 3 + 1


class Counting:
    """The counters, with every admitting write counted (one per DynamoDB UpdateItem or two at a rollover)."""

    def __init__(self, inner: LimitCounters) -> None:
        self.inner = inner
        self.writes = 0
        self.token_writes = 0

    def admit(self, key_id: str, limits: Limits) -> Any:
        self.writes += 1
        return self.inner.admit(key_id, limits)

    def add_tokens(self, *args: Any) -> Any:
        self.token_writes += 1
        return self.inner.add_tokens(*args)


def test_far_from_the_limits_an_instance_admits_from_its_lease_without_writes(
    counters: LimitCounters,
) -> None:
    counting = Counting(counters)
    clock = Clock(NEAR_MIDNIGHT - 30)
    limiter = Limiter(counting, clock)  # type: ignore[arg-type]
    principal = key(rpm_limit=100000, tpm_limit=10**9, token_budget=TokenBudget(10**12, "day"))
    for _ in range(200):
        admission = limiter.admit(principal)
        assert admission is not None
        finish(limiter, admission, 50)
    # The first write learns the counters, the second the tokens per request; then 32 at a time.
    assert counting.writes <= 2 + 200 // MAX_SLOTS + 1
    assert counting.token_writes <= counting.writes  # tokens ride along once per lease
    limiter.flush()  # what shutdown does: nothing charged stays unwritten
    shared = counters.admit("k1", limiter.limits(principal.policy, clock.now))  # type: ignore[arg-type]
    assert shared.requests > 200 and shared.period_tokens == 200 * 50


def test_two_instances_near_the_limit_write_every_request_and_admit_exactly_the_limit(
    counters: LimitCounters,
) -> None:
    clock = Clock(NEAR_MIDNIGHT - 30)
    first, second = Limiter(counters, clock), Limiter(counters, clock)
    principal = key(rpm_limit=40)
    admitted = {"first": 0, "second": 0}
    refused = set()
    while len(refused) < 2:
        for name, limiter in (("first", first), ("second", second)):
            if name in refused:
                continue
            try:
                limiter.admit(principal)
                admitted[name] += 1
            except RateLimitError:
                refused.add(name)
    assert admitted["first"] + admitted["second"] == 40
    assert min(admitted.values()) >= 15  # neither instance starves the other


def test_a_patch_voids_the_lease_reserved_under_the_old_limits(counters: LimitCounters) -> None:
    limiter = Limiter(counters, Clock(NEAR_MIDNIGHT - 30))
    generous = key(rpm_limit=1000)
    for _ in range(3):
        limiter.admit(generous)  # the third request holds a lease of several slots
    tight = key(rpm_limit=3)
    with pytest.raises(RateLimitError):  # the counter already holds more than 3: refused at once
        limiter.admit(tight)


def test_a_refusal_is_remembered_until_the_minute_turns(counters: LimitCounters) -> None:
    counting = Counting(counters)
    clock = Clock(NEAR_MIDNIGHT - 30)
    limiter = Limiter(counting, clock)  # type: ignore[arg-type]
    principal = key(rpm_limit=1)
    limiter.admit(principal)
    for _ in range(5):
        with pytest.raises(RateLimitError):
            limiter.admit(principal)
    assert counting.writes == 2
    clock.now += 60
    assert limiter.admit(principal) is not None


def test_tokens_charged_before_the_last_byte_refuse_the_next_request_before_they_are_written(
    counters: LimitCounters,
) -> None:
    counting = Counting(counters)
    limiter = Limiter(counting, Clock(NEAR_MIDNIGHT))  # type: ignore[arg-type]
    principal = key(token_budget=TokenBudget(limit=10, period="day"))
    crossing = limiter.admit(principal)
    assert crossing is not None
    limiter.charge(crossing, 12)  # the response's usage, known as its last byte goes out
    with pytest.raises(QuotaExceededError):
        limiter.admit(principal)  # the shared counters do not have the tokens yet
    assert counting.writes == 1
    limiter.settle(crossing, 12)
    with pytest.raises(QuotaExceededError):
        Limiter(counters, Clock(NEAR_MIDNIGHT)).admit(principal)  # another instance, once written
