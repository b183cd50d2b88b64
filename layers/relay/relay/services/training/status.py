"""Training-job statuses and the one table of allowed transitions (pure, no IO).

The DynamoDB adapter turns `sources_of(target)` into the condition of every status write, so
two writers racing (the pipeline finishing, a user cancelling) cannot both win.
"""

from __future__ import annotations

from typing import Final, get_args

from relay.protocol.training import TrainingStatus

__all__ = ["TrainingStatus"]

PENDING: Final = "Pending"
RUNNING: Final = "Running"
TESTING: Final = "Testing"
SUCCESS: Final = "Success"
FAILED: Final = "Failed"
TIMED_OUT: Final = "TimedOut"
CANCELLED: Final = "Cancelled"

STATUSES: Final[tuple[TrainingStatus, ...]] = get_args(TrainingStatus)
TERMINAL: Final[frozenset[TrainingStatus]] = frozenset({SUCCESS, FAILED, TIMED_OUT, CANCELLED})

# Where each status may go next. A status never moves to itself: progress and loss updates
# are not transitions. Pending may time out too: a spot job can exhaust MaxWaitTimeInSeconds
# before it ever starts training.
TRANSITIONS: Final[dict[TrainingStatus, frozenset[TrainingStatus]]] = {
    PENDING: frozenset({RUNNING, FAILED, TIMED_OUT, CANCELLED}),
    RUNNING: frozenset({TESTING, FAILED, TIMED_OUT, CANCELLED}),
    TESTING: frozenset({SUCCESS, FAILED, CANCELLED}),
    SUCCESS: frozenset(),
    FAILED: frozenset(),
    TIMED_OUT: frozenset(),
    CANCELLED: frozenset(),
}
# Progress and loss may be recorded only while the job has not reached testing.
PROGRESSING: Final[tuple[TrainingStatus, ...]] = (PENDING, RUNNING)


def can_transition(current: str, target: str) -> bool:
    """Whether a job in `current` may move to `target`."""
    return target in TRANSITIONS.get(current, frozenset())  # type: ignore[call-overload]


def sources_of(target: str) -> tuple[TrainingStatus, ...]:
    """Every status from which `target` may be reached (the condition of a conditional write)."""
    return tuple(status for status in STATUSES if can_transition(status, target))


def is_terminal(status: str) -> bool:
    return status in TERMINAL


def as_status(value: object) -> TrainingStatus:
    """A stored status, checked against the Literal (a corrupt item fails loudly here)."""
    if value not in STATUSES:
        raise ValueError(f"unknown training status {value!r}")
    return value
