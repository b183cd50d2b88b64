"""Batch statuses and the one table of allowed transitions (pure, no IO).

The DynamoDB adapter makes `sources_of(target)` the condition of every status write, so the
runner finishing and a user cancelling cannot both win.
"""

from __future__ import annotations

from typing import Final, get_args

from relay.protocol.batches import BatchStatus
from relay.services.status import Transitions

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
_MOVES: Final = Transitions("batch status", STATUSES, TRANSITIONS)
TERMINAL: Final = _MOVES.terminal
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


can_transition = _MOVES.can_transition
sources_of = _MOVES.sources_of
is_terminal = _MOVES.is_terminal
