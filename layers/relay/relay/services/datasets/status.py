"""A dataset's states and the one table of allowed moves (pure, no IO).

`pending` (presigned URL issued) becomes `uploaded` directly when `complete` verifies it in the
request, or through `verifying` (handed to the pipeline worker), which ends `uploaded` or
`invalid` (object removed, record kept a day to say why). Any state may start `deleting`; a
delete that finds the dataset still in use moves it back where it was. The adapters write every
move conditionally on the states `sources_of` names, so concurrent writers cannot both win.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from relay.services.status import Transitions

DatasetState = Literal["pending", "verifying", "uploaded", "invalid", "deleting"]

PENDING: Final = "pending"
VERIFYING: Final = "verifying"
UPLOADED: Final = "uploaded"
INVALID: Final = "invalid"
DELETING: Final = "deleting"

STATES: Final[tuple[DatasetState, ...]] = get_args(DatasetState)

TRANSITIONS: Final[dict[DatasetState, frozenset[DatasetState]]] = {
    PENDING: frozenset({VERIFYING, UPLOADED, DELETING}),
    VERIFYING: frozenset({UPLOADED, INVALID, PENDING, DELETING}),
    UPLOADED: frozenset({DELETING}),
    INVALID: frozenset({DELETING}),
    # Back to the state it had when a delete finds the dataset still in use; again `deleting`
    # when a delete cut short is run again.
    DELETING: frozenset({PENDING, VERIFYING, UPLOADED, INVALID, DELETING}),
}


# The states a verified upload is recorded from: `complete` in the request, or the worker. A
# dataset being deleted goes back only to the state it had (restore), never to `uploaded` anew.
COMPLETABLE: Final[tuple[DatasetState, ...]] = (PENDING, VERIFYING)


_MOVES: Final = Transitions("dataset state", STATES, TRANSITIONS)
can_transition = _MOVES.can_transition
sources_of = _MOVES.sources_of
as_state = _MOVES.as_status
