"""The one reader of the features' transition tables (`relay.services.status`)."""

from __future__ import annotations

import pytest

from relay.services.status import Transitions

pytestmark = pytest.mark.unit

MOVES = Transitions(
    "door state",
    ("open", "closed", "gone"),
    {"open": frozenset({"closed"}), "closed": frozenset({"open", "gone"}), "gone": frozenset()},
)


def test_moves_sources_and_terminal_read_the_table() -> None:
    assert MOVES.can_transition("open", "closed")
    assert not MOVES.can_transition("open", "gone")
    assert not MOVES.can_transition("unknown", "open")
    assert MOVES.sources_of("open") == ("closed",)
    assert MOVES.sources_of("gone") == ("closed",)
    assert MOVES.terminal == frozenset({"gone"})
    assert MOVES.is_terminal("gone") and not MOVES.is_terminal("open")


def test_a_stored_value_outside_the_table_fails_loudly() -> None:
    assert MOVES.as_status("closed") == "closed"
    with pytest.raises(ValueError, match="unknown door state 'ajar'"):
        MOVES.as_status("ajar")


def test_a_table_missing_a_row_is_refused() -> None:
    with pytest.raises(ValueError, match="door state table"):
        Transitions("door state", ("open", "closed"), {"open": frozenset({"closed"})})
