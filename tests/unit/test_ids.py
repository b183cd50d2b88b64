"""Per-request ids: uuid4-shaped hex from a process-local generator, reseeded where a process is copied."""

from __future__ import annotations

import os
import re

import pytest

from relay import ids

pytestmark = pytest.mark.unit


def test_ids_are_32_hex_digits_and_do_not_repeat() -> None:
    drawn = [ids.hex_id() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in drawn)
    assert len(set(drawn)) == len(drawn)


def test_a_copied_generator_draws_anew_once_reseeded() -> None:
    state = ids._generator.getstate()
    first = [ids.hex_id() for _ in range(3)]
    ids._generator.setstate(state)  # what a SnapStart restore or a fork hands every copy
    assert [ids.hex_id() for _ in range(3)] == first
    ids._generator.setstate(state)
    ids.reseed()
    assert [ids.hex_id() for _ in range(3)] != first


def test_a_forked_child_draws_its_own_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first id, then leave at once
        os.write(write, ids.hex_id().encode())
        os._exit(0)
    os.close(write)
    parent = ids.hex_id()
    child = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    os.close(read)
    assert len(child) == 32 and child != parent


def test_after_restore_reseeds_the_ids() -> None:
    from relay import lifecycle

    class Services:
        def forget(self) -> list[str]:
            return []

    state = ids._generator.getstate()
    first = ids.hex_id()
    ids._generator.setstate(state)
    lifecycle.after_restore(Services())  # type: ignore[arg-type]
    assert ids.hex_id() != first
