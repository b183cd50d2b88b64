"""Deployment statuses, the one table of allowed transitions, and the engine status derived from them.

Pure (no IO). Every status change is a conditional write whose condition is `sources_of`, so
two writers racing (the poll finishing, a user deleting, the scaler) cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from relay.services.status import Transitions

PENDING: Final = "Pending"
DEPLOYING: Final = "Deploying"
DEPLOYED: Final = "Deployed"
FAILED: Final = "Failed"
CANCELLED: Final = "Cancelled"
TERMINATED: Final = "Terminated"
DEACTIVATED: Final = "Deactivated"
REACTIVATING: Final = "Reactivating"
TIMED_OUT: Final = "TimedOut"

STATUSES: Final[tuple[str, ...]] = (
    PENDING,
    DEPLOYING,
    DEPLOYED,
    FAILED,
    CANCELLED,
    TERMINATED,
    DEACTIVATED,
    REACTIVATING,
    TIMED_OUT,
)
TERMINAL: Final[frozenset[str]] = frozenset({FAILED, CANCELLED, TERMINATED, TIMED_OUT})
# Still being brought up: a delete now cancels instead of terminating.
STARTING: Final[frozenset[str]] = frozenset({PENDING, DEPLOYING})

# Where each status may go next. A delete during create is Cancelled; after it, Terminated
# (reactivation included: the component exists and is removed). A failed reactivation is
# Failed like a failed create: the component is cleaned up either way.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    PENDING: frozenset({DEPLOYING, FAILED, TIMED_OUT, CANCELLED}),
    DEPLOYING: frozenset({DEPLOYED, FAILED, TIMED_OUT, CANCELLED}),
    DEPLOYED: frozenset({DEACTIVATED, TERMINATED}),
    DEACTIVATED: frozenset({REACTIVATING, TERMINATED}),
    REACTIVATING: frozenset({DEPLOYED, FAILED, TIMED_OUT, TERMINATED}),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
    TERMINATED: frozenset(),
    TIMED_OUT: frozenset(),
}

ENGINE_CREATING: Final = "Creating"
ENGINE_ACTIVE: Final = "Active"
ENGINE_INACTIVE: Final = "Inactive"


_MOVES: Final = Transitions("deployment status", STATUSES, TRANSITIONS)
can_transition = _MOVES.can_transition
sources_of = _MOVES.sources_of
is_terminal = _MOVES.is_terminal


def deletion_status(current: str) -> str | None:
    """What a delete moves a deployment to: Cancelled while starting, Terminated after; None when gone."""
    if current in STARTING:
        return CANCELLED
    if can_transition(current, TERMINATED):
        return TERMINATED
    return None


def engine_status(deployment_statuses: Iterable[str]) -> str:
    """Active while any of its deployments is Deployed (it serves), else Creating while one is
    coming up, else Inactive (all deactivated, or nothing on it: no instance runs)."""
    live = [s for s in deployment_statuses if s not in TERMINAL]
    if DEPLOYED in live:
        return ENGINE_ACTIVE
    if any(s in STARTING or s == REACTIVATING for s in live):
        return ENGINE_CREATING
    return ENGINE_INACTIVE
