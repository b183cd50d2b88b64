"""A dataset's states and the one table of allowed moves (pure, no IO).

`pending` (presigned URL issued) becomes `uploaded` directly when `complete` verifies it in the
request, or through `verifying` (handed to the pipeline worker), which ends `uploaded` or
`invalid` (object removed, record kept a day to say why). Any state may start `deleting`; a
delete that finds the dataset still in use moves it back where it was. The adapters write every
move conditionally on the states `sources_of` names, so concurrent writers cannot both win.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

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


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())  # type: ignore[call-overload]


def sources_of(target: str) -> tuple[DatasetState, ...]:
    """Every state from which `target` may be reached."""
    return tuple(state for state in STATES if can_transition(state, target))


def as_state(value: object) -> DatasetState:
    if value not in STATES:
        raise ValueError(f"unknown dataset state {value!r}")
    return value
