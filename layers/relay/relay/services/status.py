"""How a feature's status transition table is read (pure, no IO).

Each feature keeps its own table in its `status.py` (datasets, training, deployments,
batches); this is the one reading of such a table, so every adapter's conditional status
write is built by the same `sources_of` rule and a corrupt stored status fails the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

S = TypeVar("S", bound=str)


class Transitions(Generic[S]):
    """A feature's allowed moves: `table[status]` is where `status` may go next."""

    def __init__(self, kind: str, statuses: tuple[S, ...], table: Mapping[S, frozenset[S]]) -> None:
        # A status without a row (or a row for an unknown status) is a typo in the table.
        if set(statuses) != set(table):
            raise ValueError(f"the {kind} table does not list exactly {statuses}")
        self.kind = kind
        self.statuses = statuses
        self._next: dict[str, frozenset[str]] = {status: frozenset(table[status]) for status in statuses}
        # Terminal: nothing may follow it.
        self.terminal: frozenset[S] = frozenset(s for s in statuses if not table[s])

    def can_transition(self, current: str, target: str) -> bool:
        """Whether something in `current` may move to `target`."""
        return target in self._next.get(current, frozenset())

    def sources_of(self, target: str) -> tuple[S, ...]:
        """Every status from which `target` may be reached (the condition of a conditional write)."""
        return tuple(status for status in self.statuses if self.can_transition(status, target))

    def is_terminal(self, status: str) -> bool:
        return status in self.terminal

    def as_status(self, value: object) -> S:
        """A stored status, checked against the table (a corrupt item fails loudly here)."""
        for status in self.statuses:
            if value == status:
                return status
        raise ValueError(f"unknown {self.kind} {value!r}")
