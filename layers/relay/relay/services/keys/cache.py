"""A bounded, thread-safe LRU map with a deadline per entry (the auth caches use two of them).

When full it drops the least recently used entry, not everything: a flood of random keys
then costs the flood's own entries, and the keys in real use stay cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Miss:
    """The answer for an absent or expired entry (None is a value the caches store)."""


MISS = Miss()


class TtlLru(Generic[K, V]):
    def __init__(self, max_entries: int, clock: Callable[[], float]) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()  # held for dict operations only, never across IO
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def get(self, key: K) -> V | Miss:
        """The live value, marked as most recently used; MISS if absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return MISS
            if entry[1] <= self._clock():
                del self._entries[key]
                return MISS
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: K, value: V, ttl: float) -> None:
        with self._lock:
            self._entries[key] = (value, self._clock() + ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def drop_where(self, doomed: Callable[[K, V], bool]) -> None:
        with self._lock:
            for key in [k for k, (v, _) in self._entries.items() if doomed(k, v)]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
