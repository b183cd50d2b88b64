"""Ids for one response or one request (`chatcmpl-…`, `x-request-id`): 128 random bits as hex.

`uuid.uuid4()` reads the OS's generator with a system call each time and builds a UUID object:
a few microseconds on every request. These ids name nothing stored and guard nothing, so they
come from a process-local generator seeded from the OS, which costs a fraction of that. Stored
records and secrets keep `secrets`/`uuid4`.

Every copy of a process must draw its own sequence: the generator is seeded again in a forked
child and, on Lambda, in each environment restored from a SnapStart snapshot
(`relay.lifecycle.after_restore` calls `reseed`).
"""

from __future__ import annotations

import os
import random

_generator = random.Random(os.urandom(32))


def reseed() -> None:
    _generator.seed(os.urandom(32))


os.register_at_fork(after_in_child=reseed)


def hex_id() -> str:
    """32 hex digits, as `uuid4().hex` gives (without its version bits)."""
    return f"{_generator.getrandbits(128):032x}"
