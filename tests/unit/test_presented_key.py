"""Which key a request presents: the gate's raw-header reading agrees with the Headers one."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from relay.http.security import _scope_key, presented_key

pytestmark = pytest.mark.unit

CASES = [
    ([], None),
    ([(b"authorization", b"Bearer sk-one")], "sk-one"),
    ([(b"authorization", b"bearer   sk-one  ")], "sk-one"),
    ([(b"authorization", b"Basic dXNlcjpwYXNz")], None),
    ([(b"authorization", b"Bearer ")], None),
    ([(b"authorization", b"Basic x"), (b"x-api-key", b" sk-two ")], "sk-two"),
    ([(b"x-api-key", b"sk-two"), (b"authorization", b"Bearer sk-one")], "sk-one"),  # Bearer first
    ([(b"authorization", b"Bearer sk-one"), (b"authorization", b"Bearer sk-other")], "sk-one"),
    ([(b"x-api-key", b"sk-two"), (b"x-api-key", b"sk-three")], "sk-two"),
    ([(b"x-api-key", b"")], None),
]


@pytest.mark.parametrize(("headers", "expected"), CASES)
def test_the_raw_scope_reading_finds_the_key_headers_finds(
    headers: list[tuple[bytes, bytes]], expected: str | None
) -> None:
    scope = {"type": "http", "headers": [(b"host", b"x"), *headers]}
    assert _scope_key(scope) == expected
    assert presented_key(Headers(scope=scope)) == expected
