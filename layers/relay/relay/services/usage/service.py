"""Usage: write a finished request's meter, and report it per key, model and UTC day.

An admin sees every key's usage (the admin key's own included); a member sees only its own.
Reports group by any of `key`, `model`, `day`; a dimension left out is summed over (and shown
as null).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from relay.errors import BadRequestError, PermissionDeniedError
from relay.observability import logger
from relay.services.keys.models import ADMIN, Principal
from relay.services.keys.policy import Period, period_bounds, utc_date
from relay.services.usage.buffer import UsageBuffer
from relay.services.usage.meter import RequestMeter, UsageCounts, meter_rows

__all__ = ["UsageLine", "UsageService", "meter_rows", "parse_group_by"]
from relay.services.usage.repository import UsageRecord, UsageRepository

GROUPS = ("key", "model", "day")
MAX_DAYS = 366
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class UsageLine:
    key_id: str | None
    model: str | None
    date: str | None
    counts: UsageCounts


def parse_group_by(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return GROUPS
    groups = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        raise BadRequestError(
            f"group_by takes {', '.join(GROUPS)} (comma-separated), not '{raw[:64]}'", param="group_by"
        )
    return groups


class UsageService:
    def __init__(
        self,
        usage: UsageRepository,
        key_ids: Callable[[], Iterable[str]],
        clock: Callable[[], float] = time.time,
        buffer: UsageBuffer | None = None,
    ) -> None:
        self._usage = usage
        self._key_ids = key_ids  # every stored key's id, for an admin's report
        self._clock = clock
        self._buffer = buffer

    def record(self, meter: RequestMeter) -> None:
        """Write a finished request's counters (called after its response went out)."""
        date = utc_date(self._clock())
        for model, counts in meter_rows(meter).items():
            self._usage.add(meter.key_id, date, model, counts)

    def record_later(self, meter: RequestMeter) -> None:
        """Add the meter to the in-memory sums the buffer writes (no IO); without one, write now."""
        if self._buffer is None:
            self.record_quietly(meter)
            return
        self._buffer.add_meter(utc_date(self._clock()), meter)

    def flush(self) -> None:
        """Write what this process still holds (before a read, and at shutdown)."""
        if self._buffer is not None:
            self._buffer.flush()

    def record_quietly(self, meter: RequestMeter) -> None:
        """As `record`, but a failure is logged with the counts it could not write, never raised."""
        try:
            self.record(meter)
        except Exception:  # the response is already sent; the log line keeps the numbers
            logger.exception(
                "could not record usage",
                extra={"key_id": meter.key_id, "usage": {m: vars(c) for m, c in meter.by_model.items()}},
            )

    def report(
        self,
        principal: Principal,
        *,
        start: float | None,
        end: float | None,
        key_id: str | None,
        group_by: tuple[str, ...],
    ) -> list[UsageLine]:
        now = self._clock()
        end = now if end is None else end
        start = end - (DEFAULT_DAYS - 1) * 86400 if start is None else start
        if start > end:
            raise BadRequestError("start must not be after end", param="start")
        if end - start > MAX_DAYS * 86400:
            raise BadRequestError(f"A report spans at most {MAX_DAYS} days", param="end")
        keys = self._visible_keys(principal, key_id)
        self.flush()
        first, last = utc_date(start), utc_date(end)
        records = [r for k in keys for r in self._usage.query(k, first, last)]
        return _grouped(records, group_by)

    def in_period(self, key_id: str, period: Period) -> tuple[int, int, UsageCounts]:
        """(start, end, totals) of the key's usage in the current UTC day or month."""
        _, start, end = period_bounds(period, self._clock())
        self.flush()
        total = UsageCounts()
        for record in self._usage.query(key_id, utc_date(start), utc_date(end - 1)):
            total.add(record.counts)
        return start, end, total

    def _visible_keys(self, principal: Principal, key_id: str | None) -> list[str]:
        if not principal.is_admin:
            if key_id is not None and key_id != principal.key_id:
                raise PermissionDeniedError("A member key sees only its own usage", param="key_id")
            return [principal.key_id]
        if key_id is not None:
            return [key_id]
        return [ADMIN.key_id, *self._key_ids()]


def _grouped(records: list[UsageRecord], group_by: tuple[str, ...]) -> list[UsageLine]:
    totals: dict[tuple[str | None, str | None, str | None], UsageCounts] = {}
    for record in records:
        group = (
            record.key_id if "key" in group_by else None,
            record.model if "model" in group_by else None,
            record.date if "day" in group_by else None,
        )
        totals.setdefault(group, UsageCounts()).add(record.counts)
    ordered = sorted(
        totals.items(), key=lambda item: tuple(part or "" for part in (item[0][2], item[0][0], item[0][1]))
    )
    return [UsageLine(key, model, date, counts) for (key, model, date), counts in ordered]
