"""The auth cache: least-recently-used eviction, and a bounded negative cache by key id."""

from __future__ import annotations

import pytest

from relay.errors import AuthenticationError
from relay.services.keys.auth import Authenticator
from relay.services.keys.models import ApiKey
from relay.services.keys.repository import InMemoryApiKeyRepository
from relay.services.keys.service import generate_key
from tests.clock import Clock

pytestmark = pytest.mark.unit

ADMIN_KEY = "A" * 48


class CountingKeys(InMemoryApiKeyRepository):
    """The in-memory key store, counting the GetItems a DynamoDB adapter would make."""

    def __init__(self) -> None:
        super().__init__()
        self.gets: list[str] = []

    def get(self, key_id: str) -> ApiKey | None:
        self.gets.append(key_id)
        return super().get(key_id)


def make(max_entries: int = 4096, ttl: float = 60.0) -> tuple[Authenticator, CountingKeys, Clock]:
    keys, clock = CountingKeys(), Clock()
    return Authenticator(lambda: ADMIN_KEY, keys, ttl=ttl, clock=clock, max_entries=max_entries), keys, clock


def stored(keys: CountingKeys, name: str) -> str:
    plaintext, record = generate_key(name)
    keys.put(record)
    return plaintext


def test_a_full_cache_evicts_the_least_recently_used_entry_not_everything() -> None:
    auth, keys, _ = make(max_entries=3)
    first, second, third = (stored(keys, n) for n in "abc")
    for key in (first, second, third):
        auth.authenticate(key)
    auth.authenticate(first)  # used again: now the most recent
    fourth = stored(keys, "d")
    auth.authenticate(fourth)
    assert auth.cached(first) is not False and auth.cached(third) is not False
    assert auth.cached(fourth) is not False
    assert auth.cached(second) is False  # the least recently used went, and only it
    reads = len(keys.gets)
    auth.authenticate(first)
    auth.authenticate(third)
    assert len(keys.gets) == reads  # still answered from the cache


def test_random_well_formed_keys_for_one_unknown_id_cost_one_read() -> None:
    auth, keys, _ = make()
    for secret in ("one", "two", "three", "four"):
        with pytest.raises(AuthenticationError):
            auth.authenticate(f"sk-relay-abcdefghijkl-{secret}")
    assert keys.gets == ["abcdefghijkl"]


def test_wrong_secrets_for_a_real_id_do_not_read_again_and_the_right_one_still_works() -> None:
    auth, keys, _ = make()
    plaintext = stored(keys, "real")
    key_id = plaintext.split("-")[2]
    for attempt in range(3):
        with pytest.raises(AuthenticationError):
            auth.authenticate(f"{plaintext[: plaintext.rindex('-')]}-guess{attempt}")
    assert auth.authenticate(plaintext).key_id == key_id
    assert keys.gets == [key_id]


def test_the_negative_cache_is_short_and_bounded() -> None:
    auth, keys, clock = make(max_entries=2, ttl=60)
    for key_id in ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"):
        with pytest.raises(AuthenticationError):
            auth.authenticate(f"sk-relay-{key_id}-x")
    assert auth.cache_size() <= 2 * 2  # verdicts and records, each bounded
    clock.now += 61
    with pytest.raises(AuthenticationError):
        auth.authenticate("sk-relay-cccccccccccc-y")
    assert keys.gets == ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "cccccccccccc"]


def test_a_key_created_after_its_id_was_refused_works_once_the_short_negative_entry_expires() -> None:
    auth, keys, clock = make(ttl=60)
    plaintext, record = generate_key("late")
    with pytest.raises(AuthenticationError):
        auth.authenticate(plaintext)
    keys.put(record)
    clock.now += 61
    assert auth.authenticate(plaintext).key_id == record.id


def test_forget_drops_the_record_too() -> None:
    auth, keys, _ = make()
    plaintext = stored(keys, "gone")
    principal = auth.authenticate(plaintext)
    keys.delete(principal.key_id)
    auth.forget(principal.key_id)
    with pytest.raises(AuthenticationError):
        auth.authenticate(plaintext)


def test_rotating_the_admin_key_refuses_the_old_one_here_at_once() -> None:
    from relay.errors import ServiceUnavailableError
    from relay.services.keys.models import ADMIN
    from relay.services.keys.service import ApiKeyService

    secret = ["A" * 48]
    keys = CountingKeys()
    auth = Authenticator(lambda: secret[0], keys, ttl=60)
    service = ApiKeyService(keys, auth.forget, admin_secret=lambda value: secret.__setitem__(0, value))
    assert auth.authenticate("A" * 48) == ADMIN
    new_key = service.rotate_admin()
    assert secret == [new_key] and len(new_key) == 48 and new_key.isalnum()
    with pytest.raises(AuthenticationError):
        auth.authenticate("A" * 48)
    assert auth.authenticate(new_key) == ADMIN
    with pytest.raises(ServiceUnavailableError):
        ApiKeyService(keys, auth.forget).rotate_admin()  # no writable secret: refused, nothing changes


def test_a_rotation_forgets_refusals_so_the_key_put_in_place_works_at_once() -> None:
    from relay.services.keys.models import ADMIN

    secret = ["B" * 48]
    auth = Authenticator(lambda: secret[0], CountingKeys(), ttl=60)
    with pytest.raises(AuthenticationError):
        auth.authenticate("A" * 48)  # refused, and the refusal cached
    secret[0] = "A" * 48  # the secret is rotated (here: back to a key refused a moment ago)
    auth.forget(ADMIN.key_id)
    assert auth.authenticate("A" * 48) == ADMIN
