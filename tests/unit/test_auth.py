"""Auth: admin key, hashed Relay keys, constant-time checks, caching and revocation."""

from __future__ import annotations

import pytest

from relay.backends.secrets import secrets_manager_source
from relay.errors import AuthenticationError, ServiceUnavailableError
from relay.services.keys.auth import ADMIN, Authenticator, Principal
from relay.services.keys.models import hash_secret, parse_key
from relay.services.keys.repository import InMemoryApiKeyRepository
from relay.services.keys.service import generate_key
from tests.clock import Clock

pytestmark = pytest.mark.unit

ADMIN_KEY = "A" * 48


def make(ttl: float = 60.0) -> tuple[Authenticator, InMemoryApiKeyRepository, Clock, list[int]]:
    repo = InMemoryApiKeyRepository()
    clock = Clock()
    reads: list[int] = []

    def admin() -> str:
        reads.append(1)
        return ADMIN_KEY

    return Authenticator(admin, repo, ttl=ttl, clock=clock), repo, clock, reads


def test_admin_key_is_accepted_and_cached() -> None:
    auth, _, _, reads = make()
    assert auth.authenticate(ADMIN_KEY) == ADMIN
    assert auth.authenticate(ADMIN_KEY) == ADMIN
    assert auth.cached(ADMIN_KEY) == ADMIN
    assert len(reads) == 1


@pytest.mark.parametrize("bad", ["", None, "A" * 47, "B" * 48, "A" * 49, "x" * 300])
def test_missing_or_wrong_key_is_401(bad: str | None) -> None:
    auth, _, _, _ = make()
    with pytest.raises(AuthenticationError):
        auth.authenticate(bad)


def test_generated_key_is_stored_hashed_and_works() -> None:
    auth, repo, _, _ = make()
    plaintext, record = generate_key("ci", now=5)
    repo.put(record)
    assert plaintext not in repr(record)
    parsed = parse_key(plaintext)
    assert parsed is not None and parsed[0] == record.id
    assert record.key_hash == hash_secret(parsed[1])
    assert parsed[1] not in repr(record)
    principal = auth.authenticate(plaintext)
    assert principal == Principal(key_id=record.id, is_admin=False)
    assert repo.items[record.id].last_used_at is not None


def test_tampered_secret_is_refused() -> None:
    auth, repo, _, _ = make()
    plaintext, record = generate_key("ci")
    repo.put(record)
    with pytest.raises(AuthenticationError):
        auth.authenticate(plaintext[:-1] + ("a" if plaintext[-1] != "a" else "b"))


def test_revoked_key_stops_working_after_the_cache_ttl() -> None:
    auth, repo, clock, _ = make(ttl=60)
    plaintext, record = generate_key("ci")
    repo.put(record)
    auth.authenticate(plaintext)
    repo.delete(record.id)
    clock.now += 59
    assert auth.authenticate(plaintext).key_id == record.id  # still cached
    clock.now += 2
    with pytest.raises(AuthenticationError):
        auth.authenticate(plaintext)


def test_admin_secret_unreadable_is_503() -> None:
    from botocore.exceptions import EndpointConnectionError

    class Unreachable:
        def get_secret_value(self, **kwargs: object) -> dict[str, str]:
            raise EndpointConnectionError(endpoint_url="http://secrets")

    auth = Authenticator(secrets_manager_source(Unreachable, "admin"), InMemoryApiKeyRepository(), ttl=60)
    with pytest.raises(ServiceUnavailableError):
        auth.authenticate("whatever")


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        ("sk-relay-abcdefghijkl-secret", ("abcdefghijkl", "secret")),
        ("sk-relay-abcdefghijkl-sec-ret", ("abcdefghijkl", "sec-ret")),
        ("sk-relay-short-secret", None),
        ("sk-relay-abcdefghijkl-", None),
        ("sk-other-abcdefghijkl-secret", None),
    ],
)
def test_parse_key(key: str, parsed: tuple[str, str] | None) -> None:
    assert parse_key(key) == parsed
