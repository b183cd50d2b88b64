"""API key verification: the admin key from Secrets Manager, further keys hashed in DynamoDB.

Results are cached per presented key for `ttl` seconds, so a revoked key stops working
within that time and the hot path does no IO. Comparisons are constant-time.

The stored record read for a key id is cached too (negative answers for a shorter time),
so well-formed keys with made-up secrets or ids cost at most one GetItem per id and TTL,
not one per request. Both caches are bounded and evict the least recently used entry.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable

from relay.errors import AuthenticationError, RelayError, ServiceUnavailableError
from relay.observability import logger
from relay.services.keys.cache import Miss, TtlLru
from relay.services.keys.models import ADMIN, ApiKey, Principal, hash_secret, parse_key
from relay.services.keys.repository import ApiKeyRepository

_MAX_CACHE = 4096
_MAX_KEY_LENGTH = 256
# A key id nobody holds is remembered briefly: long enough to absorb a flood of guesses,
# short enough that an id created meanwhile on another instance works soon after.
_NEGATIVE_TTL = 10.0


__all__ = ["ADMIN", "Authenticator", "Principal"]


class Authenticator:
    def __init__(
        self,
        admin_key: Callable[[], str],
        keys: ApiKeyRepository,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = _MAX_CACHE,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._wall_clock = wall_clock  # expiry is a UNIX time, not a monotonic one
        self._admin_key_source = admin_key
        self._keys = keys
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._admin: tuple[bytes, float] | None = None
        self._cache: TtlLru[bytes, Principal | None] = TtlLru(max_entries, clock)
        self._records: TtlLru[str, ApiKey | None] = TtlLru(max_entries, clock)

    def cached(self, presented: str) -> Principal | bool | None:
        """The cached verdict without IO: a Principal, None (known bad), or False (unknown)."""
        verdict = self._cache.get(_fingerprint(presented))
        return False if isinstance(verdict, Miss) else self._live(verdict)

    def _live(self, verdict: Principal | None) -> Principal | None:
        """An expired key is refused from its expiry on, whatever the cache holds."""
        if verdict is not None and verdict.policy is not None and verdict.policy.expired(self._wall_clock()):
            return None
        return verdict

    def cache_size(self) -> int:
        return len(self._cache) + len(self._records)

    def authenticate(self, presented: str | None) -> Principal:
        """The principal for a presented key, or AuthenticationError. May do IO."""
        if not presented:
            raise AuthenticationError(
                "Missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            )
        if len(presented) > _MAX_KEY_LENGTH:
            raise AuthenticationError("Incorrect API key provided")
        verdict = self.cached(presented)
        if verdict is False:
            verdict = self._verify(presented)
            self._remember(presented, verdict)
            verdict = self._live(verdict)
        if not isinstance(verdict, Principal):
            raise AuthenticationError("Incorrect API key provided")
        return verdict

    def forget(self, key_id: str) -> None:
        """Drop this instance's cached verdicts for a revoked key (others expire within the TTL)."""
        self._cache.drop_where(lambda _, p: p is not None and p.key_id == key_id)
        self._records.drop_where(lambda k, _: k == key_id)
        if key_id == ADMIN.key_id:
            # The admin key was rotated: read the secret again, and forget the refusals too
            # (the key just put in place may be one this instance refused a moment ago).
            self._cache.drop_where(lambda _, p: p is None)
            with self._lock:
                self._admin = None

    def _verify(self, presented: str) -> Principal | None:
        if hmac.compare_digest(presented.encode("utf-8"), self._admin_key()):
            return ADMIN
        parsed = parse_key(presented)
        if parsed is None:
            return None
        key_id, secret = parsed
        record = self._record(key_id)
        if record is None or not hmac.compare_digest(hash_secret(secret), record.key_hash):
            return None
        try:
            self._keys.touch(key_id, int(time.time()))
        except RelayError:
            logger.warning("could not record API key use", extra={"key_id": key_id})
        return Principal(key_id=key_id, is_admin=record.policy.role == "admin", policy=record.policy)

    def _record(self, key_id: str) -> ApiKey | None:
        cached = self._records.get(key_id)
        if not isinstance(cached, Miss):
            return cached
        try:
            record = self._keys.get(key_id)
        except RelayError as exc:
            raise ServiceUnavailableError("Could not verify the API key", retry_after=1) from exc
        self._records.put(key_id, record, self._ttl if record is not None else min(self._ttl, _NEGATIVE_TTL))
        return record

    def _admin_key(self) -> bytes:
        now = self._clock()
        admin = self._admin
        if admin is not None and now < admin[1]:
            return admin[0]
        with self._lock:
            try:
                value = self._admin_key_source().strip().encode("utf-8")
            except RelayError as exc:
                if self._admin is not None:
                    return self._admin[0]
                raise ServiceUnavailableError("Could not read the admin key", retry_after=1) from exc
            if not value:
                raise ServiceUnavailableError("The admin key secret is empty")
            self._admin = (value, now + self._ttl)
            return value

    def _remember(self, presented: str, verdict: Principal | None) -> None:
        self._cache.put(_fingerprint(presented), verdict, self._ttl)


def _fingerprint(presented: str) -> bytes:
    return hashlib.sha256(presented.encode("utf-8")).digest()
