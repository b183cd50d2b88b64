"""The usage buffer: request meters summed in memory, written off the request path, nothing lost."""

from __future__ import annotations

import time

import pytest

from relay.services.usage.buffer import UsageBuffer
from relay.services.usage.meter import RequestMeter, UsageCounts, bind, count_tokens, note_model, unbind
from relay.services.usage.repository import InMemoryUsageRepository

pytestmark = pytest.mark.unit


class Flaky(InMemoryUsageRepository):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.writes = 0

    def add(self, key_id: str, date: str, model: str, counts: UsageCounts) -> None:
        self.writes += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("throttled")
        super().add(key_id, date, model, counts)


def test_requests_are_summed_and_written_as_one_row_per_key_day_and_model() -> None:
    usage = Flaky(failures=0)
    buffer = UsageBuffer(usage, interval=3600)  # the thread never fires in this test
    for _ in range(50):
        buffer.add("k1", "2026-12-01", {"m": UsageCounts(requests=1, input_tokens=3, output_tokens=2)})
    buffer.add("k2", "2026-12-01", {"m": UsageCounts(requests=1, cached_tokens=4)})
    assert usage.writes == 0  # adding does no IO
    buffer.flush()
    assert usage.writes == 2
    assert usage.items[("k1", "2026-12-01", "m")] == UsageCounts(
        requests=50, input_tokens=150, output_tokens=100
    )
    assert usage.items[("k2", "2026-12-01", "m")] == UsageCounts(requests=1, cached_tokens=4)
    assert buffer.pending() == 0


def test_queued_meters_are_summed_by_the_flush_not_by_the_request() -> None:
    usage = Flaky(failures=0)
    buffer = UsageBuffer(usage, interval=3600)
    for tokens in (3, 4):
        meter = RequestMeter("k")
        token = bind(meter)
        note_model("m")
        count_tokens("m", input_tokens=tokens, output_tokens=1)
        count_tokens("embedder", input_tokens=2)  # a second model in the same request
        unbind(token)
        buffer.add_meter("2026-12-01", meter)
    assert usage.writes == 0 and buffer.pending() == 2  # summed on demand: one row per model
    buffer.flush()
    assert usage.items[("k", "2026-12-01", "m")] == UsageCounts(requests=2, input_tokens=7, output_tokens=2)
    assert usage.items[("k", "2026-12-01", "embedder")] == UsageCounts(input_tokens=4)
    assert buffer.pending() == 0


def test_a_failed_write_is_kept_and_written_by_the_next_flush() -> None:
    usage = Flaky(failures=1)
    buffer = UsageBuffer(usage, interval=3600)
    buffer.add("k", "2026-12-01", {"m": UsageCounts(requests=1, output_tokens=7)})
    buffer.flush()
    assert usage.items == {} and buffer.pending() == 1
    buffer.add("k", "2026-12-01", {"m": UsageCounts(requests=1, output_tokens=1)})
    buffer.flush()
    assert usage.items[("k", "2026-12-01", "m")] == UsageCounts(requests=2, output_tokens=8)


def test_the_background_thread_writes_within_its_interval() -> None:
    usage = Flaky(failures=0)
    buffer = UsageBuffer(usage, interval=0.01)
    buffer.add("k", "2026-12-01", {"m": UsageCounts(requests=1)})
    deadline = time.monotonic() + 5
    while ("k", "2026-12-01", "m") not in usage.items and time.monotonic() < deadline:
        time.sleep(0.01)
    assert usage.items[("k", "2026-12-01", "m")] == UsageCounts(requests=1)


def test_a_row_that_keeps_failing_is_dropped_after_its_attempts() -> None:
    from relay.services.usage.buffer import MAX_ATTEMPTS

    usage = Flaky(failures=10**6)
    buffer = UsageBuffer(usage, interval=3600)
    buffer.add("k", "2026-12-01", {"m" * 5000: UsageCounts(requests=1)})
    for _ in range(MAX_ATTEMPTS - 1):
        buffer.flush()
        assert buffer.pending() == 1
    buffer.flush()
    assert buffer.pending() == 0 and usage.writes == MAX_ATTEMPTS
    buffer.flush()
    assert usage.writes == MAX_ATTEMPTS  # nothing left to retry
