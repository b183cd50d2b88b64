"""Training-job statuses and the one table of allowed transitions (pure, no IO).

The DynamoDB adapter turns `sources_of(target)` into the condition of every status write, so
two writers racing (the pipeline finishing, a user cancelling) cannot both win.
"""

from __future__ import annotations

from typing import Final, get_args

from relay.protocol.training import TrainingStatus
from relay.services.status import Transitions

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


_MOVES: Final = Transitions("training status", STATUSES, TRANSITIONS)
can_transition = _MOVES.can_transition
sources_of = _MOVES.sources_of
is_terminal = _MOVES.is_terminal
as_status = _MOVES.as_status
