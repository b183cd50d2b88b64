"""Usage metering: the request meter, reports grouped by key/model/day with member scoping,
and the DynamoDB adapter on moto (ADD counters, date ranges)."""

from __future__ import annotations

import asyncio
import calendar
from typing import Any

import pytest

from relay.errors import BadRequestError, PermissionDeniedError
from relay.protocol.chat import ChatCompletionChunk, CompletionUsage, PromptTokensDetails
from relay.services.keys.models import ADMIN, Principal
from relay.services.usage import meter as usage_meter
from relay.services.usage.dynamodb import DynamoDBUsageRepository
from relay.services.usage.meter import RequestMeter, UsageCounts, count_usage, metered_chunks, note_model
from relay.services.usage.repository import InMemoryUsageRepository, UsageRepository
from relay.services.usage.service import UsageService, meter_rows, parse_group_by
from tests.clock import Clock

pytestmark = pytest.mark.unit

DAY1 = calendar.timegm((2026, 12, 1, 10, 0, 0))
DAY2 = DAY1 + 86400
MEMBER = Principal(key_id="alice0000001", is_admin=False)


@pytest.fixture(params=["memory", "dynamodb"])
def repository(request: pytest.FixtureRequest) -> UsageRepository:
    if request.param == "memory":
        return InMemoryUsageRepository()
    return DynamoDBUsageRepository(request.getfixturevalue("moto_table"), "relay")


def metered(key_id: str, model: str, prompt: int, completion: int, cached: int = 0) -> RequestMeter:
    meter = RequestMeter(key_id)
    token = usage_meter.bind(meter)
    try:
        note_model(model)
        details = PromptTokensDetails(cached_tokens=cached, cache_write_tokens=1) if cached else None
        count_usage(
            model,
            CompletionUsage(
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=prompt + completion,
                prompt_tokens_details=details,
            ),
        )
    finally:
        usage_meter.unbind(token)
    return meter


def test_a_request_counts_once_against_its_model_with_every_token_kind() -> None:
    meter = metered("k", "m", prompt=10, completion=4, cached=6)
    rows = meter_rows(meter)
    assert rows == {
        "m": UsageCounts(requests=1, input_tokens=10, output_tokens=4, cached_tokens=6, cache_write_tokens=1)
    }
    assert meter.tokens == 14


def test_nothing_is_counted_outside_a_metered_request() -> None:
    note_model("m")
    count_usage("m", CompletionUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2))
    assert not usage_meter.metering()


def test_a_stream_is_metered_and_usage_kept_from_a_client_that_did_not_ask() -> None:
    usage = CompletionUsage(prompt_tokens=3, completion_tokens=2, total_tokens=5)
    chunks = [
        ChatCompletionChunk(id="c", created=1, model="m", choices=[]),
        ChatCompletionChunk(id="c", created=1, model="m", choices=[], usage=usage),
    ]

    async def source() -> Any:
        for chunk in chunks:
            yield chunk

    async def consume() -> list[ChatCompletionChunk]:
        return [c async for c in metered_chunks("m", source(), strip=True)]

    meter = RequestMeter("k")
    token = usage_meter.bind(meter)
    try:
        seen = asyncio.run(consume())
    finally:
        usage_meter.unbind(token)
    assert len(seen) == 1 and seen[0].usage is None
    assert meter.by_model["m"].input_tokens == 3 and meter.by_model["m"].output_tokens == 2


def test_reports_group_by_key_model_and_day(repository: UsageRepository) -> None:
    clock = Clock(DAY1)
    service = UsageService(repository, lambda: ["alice0000001", "bob000000001"], clock)
    service.record(metered("alice0000001", "nova", 10, 5))
    service.record(metered("alice0000001", "nova", 1, 1))
    service.record(metered("bob000000001", "llama", 7, 3))
    clock.now = DAY2
    service.record(metered("alice0000001", "llama", 2, 2))
    service.record(metered(ADMIN.key_id, "nova", 100, 100))
    full = service.report(ADMIN, start=DAY1, end=DAY2, key_id=None, group_by=parse_group_by(None))
    assert [(r.date, r.key_id, r.model, r.counts.requests) for r in full] == [
        ("2026-12-01", "alice0000001", "nova", 2),
        ("2026-12-01", "bob000000001", "llama", 1),
        ("2026-12-02", "admin", "nova", 1),
        ("2026-12-02", "alice0000001", "llama", 1),
    ]
    assert full[0].counts.input_tokens == 11 and full[0].counts.output_tokens == 6
    by_model = service.report(ADMIN, start=DAY1, end=DAY2, key_id=None, group_by=("model",))
    assert {(r.model, r.counts.input_tokens) for r in by_model} == {("nova", 111), ("llama", 9)}
    assert all(r.key_id is None and r.date is None for r in by_model)
    one_day = service.report(ADMIN, start=DAY2, end=DAY2, key_id="alice0000001", group_by=("day",))
    assert [(r.date, r.counts.requests) for r in one_day] == [("2026-12-02", 1)]


def test_a_member_sees_only_itself(repository: UsageRepository) -> None:
    service = UsageService(repository, lambda: ["alice0000001", "bob000000001"], Clock(DAY1))
    service.record(metered("alice0000001", "nova", 1, 1))
    service.record(metered("bob000000001", "nova", 9, 9))
    mine = service.report(MEMBER, start=None, end=None, key_id=None, group_by=("key",))
    assert [(r.key_id, r.counts.input_tokens) for r in mine] == [("alice0000001", 1)]
    with pytest.raises(PermissionDeniedError):
        service.report(MEMBER, start=None, end=None, key_id="bob000000001", group_by=("key",))
    start, end, totals = service.in_period("alice0000001", "month")
    assert (start, end) == (calendar.timegm((2026, 12, 1, 0, 0, 0)), calendar.timegm((2027, 1, 1, 0, 0, 0)))
    assert totals.tokens == 2 and totals.requests == 1


def test_bad_report_parameters_are_400s_naming_them() -> None:
    service = UsageService(InMemoryUsageRepository(), list, Clock(DAY1))
    with pytest.raises(BadRequestError) as bad:
        parse_group_by("team")
    assert bad.value.param == "group_by"
    with pytest.raises(BadRequestError) as backwards:
        service.report(ADMIN, start=DAY2, end=DAY1, key_id=None, group_by=("key",))
    assert backwards.value.param == "start"
    with pytest.raises(BadRequestError) as too_long:
        service.report(ADMIN, start=DAY1 - 400 * 86400, end=DAY1, key_id=None, group_by=("key",))
    assert too_long.value.param == "end"


def test_a_failed_write_is_logged_with_its_counts_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Down:
        def add(self, *args: Any) -> None:
            raise RuntimeError("table down")

        def query(self, *args: Any) -> list[Any]:
            return []

    UsageService(Down(), list, Clock(DAY1)).record_quietly(metered("k", "m", 3, 4))
    assert any("could not record usage" in r.getMessage() for r in caplog.records)
