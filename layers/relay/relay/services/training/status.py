"""Training-job statuses and the one table of allowed transitions (pure, no IO)."""

from __future__ import annotations

from typing import Final, Literal

TrainingStatus = Literal["Pending", "Running", "Testing", "Success", "Failed", "TimedOut", "Cancelled"]

PENDING: Final = "Pending"
RUNNING: Final = "Running"
TESTING: Final = "Testing"
SUCCESS: Final = "Success"
FAILED: Final = "Failed"
TIMED_OUT: Final = "TimedOut"
CANCELLED: Final = "Cancelled"

STATUSES: Final[tuple[str, ...]] = (PENDING, RUNNING, TESTING, SUCCESS, FAILED, TIMED_OUT, CANCELLED)
TERMINAL: Final[frozenset[str]] = frozenset({SUCCESS, FAILED, TIMED_OUT, CANCELLED})

# Where each status may go next. A status never moves to itself: progress and loss updates
# are not transitions. Pending may time out too: a spot job can exhaust MaxWaitTimeInSeconds
# before it ever starts training.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    PENDING: frozenset({RUNNING, FAILED, TIMED_OUT, CANCELLED}),
    RUNNING: frozenset({TESTING, FAILED, TIMED_OUT, CANCELLED}),
    TESTING: frozenset({SUCCESS, FAILED, CANCELLED}),
    SUCCESS: frozenset(),
    FAILED: frozenset(),
    TIMED_OUT: frozenset(),
    CANCELLED: frozenset(),
}


def can_transition(current: str, target: str) -> bool:
    """Whether a job in `current` may move to `target`."""
    return target in TRANSITIONS.get(current, frozenset())


def sources_of(target: str) -> tuple[str, ...]:
    """Every status from which `target` may be reached (the condition of a conditional write)."""
    return tuple(status for status in STATUSES if can_transition(status, target))


def is_terminal(status: str) -> bool:
    return status in TERMINAL
