"""The usage storage port (counters per key, UTC day and model) and its in-memory fake."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from relay.services.usage.meter import UsageCounts


@dataclass(frozen=True)
class UsageRecord:
    key_id: str
    model: str
    date: str  # YYYY-MM-DD, UTC
    counts: UsageCounts


class UsageRepository(Protocol):
    def add(self, key_id: str, date: str, model: str, counts: UsageCounts) -> None:
        """Add to the day's counters for the key and model (atomic, commutative)."""
        ...

    def query(self, key_id: str, start: str, end: str) -> list[UsageRecord]:
        """The key's records from day `start` to day `end`, both included."""
        ...


class InMemoryUsageRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[tuple[str, str, str], UsageCounts] = {}

    def add(self, key_id: str, date: str, model: str, counts: UsageCounts) -> None:
        with self._lock:
            self.items.setdefault((key_id, date, model), UsageCounts()).add(counts)

    def query(self, key_id: str, start: str, end: str) -> list[UsageRecord]:
        with self._lock:
            found = [
                UsageRecord(k, m, d, UsageCounts(**vars(c)))
                for (k, d, m), c in self.items.items()
                if k == key_id and start <= d <= end
            ]
        return sorted(found, key=lambda r: (r.date, r.model))
