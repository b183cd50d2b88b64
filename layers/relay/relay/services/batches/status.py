"""Batch statuses and the one table of allowed transitions (pure, no IO).

The DynamoDB adapter makes `sources_of(target)` the condition of every status write, so the
runner finishing and a user cancelling cannot both win.
"""

from __future__ import annotations

from typing import Final, get_args

from relay.protocol.batches import BatchStatus

STATUSES: Final[tuple[BatchStatus, ...]] = get_args(BatchStatus)
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "validating": frozenset({"failed", "in_progress", "cancelling"}),
    "in_progress": frozenset({"finalizing", "cancelling", "expired"}),
    "finalizing": frozenset({"completed"}),
    "cancelling": frozenset({"cancelled"}),
    "failed": frozenset(),
    "completed": frozenset(),
    "expired": frozenset(),
    "cancelled": frozenset(),
}
TERMINAL: Final = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
# Each status and the timestamp field it stamps when reached.
STAMPS: Final[dict[str, str]] = {
    "failed": "failed_at",
    "in_progress": "in_progress_at",
    "finalizing": "finalizing_at",
    "completed": "completed_at",
    "expired": "expired_at",
    "cancelling": "cancelling_at",
    "cancelled": "cancelled_at",
}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def sources_of(target: str) -> tuple[str, ...]:
    return tuple(status for status in STATUSES if can_transition(status, target))


def is_terminal(status: str) -> bool:
    return status in TERMINAL
