"""API keys as the admin routes use them: create (the plaintext shown once), list, revoke, and
the admin key's rotation.

Rotation writes a new admin key into its Secrets Manager secret. This instance stops taking
the old one at once; every other instance re-reads the secret within the auth cache's TTL
(`RELAY_AUTH_CACHE_TTL_SECONDS`), so the old key is refused everywhere after that.
"""

from __future__ import annotations

import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import replace

from relay.errors import ServiceUnavailableError
from relay.services.keys.models import ADMIN, KEY_ID_LENGTH, KEY_PREFIX, ApiKey, hash_secret
from relay.services.keys.policy import KeyPolicy
from relay.services.keys.repository import ApiKeyRepository, key_not_found
from relay.services.projects.service import clean_name

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_KEY_ID = re.compile(rf"[a-z0-9]{{{KEY_ID_LENGTH}}}")
# As the template's GenerateSecretString makes it: 48 letters and digits (about 285 bits).
_ADMIN_ALPHABET = string.ascii_letters + string.digits
ADMIN_KEY_LENGTH = 48


def generate_admin_key() -> str:
    return "".join(secrets.choice(_ADMIN_ALPHABET) for _ in range(ADMIN_KEY_LENGTH))


def generate_key(name: str, now: int | None = None) -> tuple[str, ApiKey]:
    """A new key: (the plaintext, shown once; the record to store)."""
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(KEY_ID_LENGTH))
    secret = secrets.token_urlsafe(32)
    plaintext = f"{KEY_PREFIX}{key_id}-{secret}"
    record = ApiKey(
        id=key_id,
        name=name,
        prefix=f"{KEY_PREFIX}{key_id}",
        key_hash=hash_secret(secret),
        created_at=int(time.time()) if now is None else now,
    )
    return plaintext, record


class ApiKeyService:
    def __init__(
        self,
        keys: ApiKeyRepository,
        forget: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        admin_secret: Callable[[str], None] | None = None,
    ) -> None:
        self._keys = keys
        self._forget = forget  # drops this instance's cached verdicts for a revoked key
        self._clock = clock
        self._admin_secret = admin_secret  # stores a new admin key in its secret

    def create(self, name: str | None, policy: KeyPolicy | None = None) -> tuple[str, ApiKey]:
        """Store a new key; returns (plaintext, record). The plaintext is never stored."""
        plaintext, record = generate_key(clean_name(name, default=""), now=int(self._clock()))
        record = replace(record, policy=policy or KeyPolicy())
        self._keys.put(record)
        return plaintext, record

    def get(self, key_id: str) -> ApiKey:
        record = self._keys.get(key_id) if _KEY_ID.fullmatch(key_id) else None
        if record is None:
            raise key_not_found(key_id)
        return record

    def update(self, key_id: str, name: str | None, policy: Callable[[KeyPolicy], KeyPolicy]) -> ApiKey:
        """Change the name and/or policy; takes effect here at once, elsewhere within the auth TTL."""
        current = self.get(key_id)
        new_name = current.name if name is None else clean_name(name, default="")
        updated = self._keys.update(key_id, new_name, policy(current.policy))
        self._forget(key_id)
        return updated

    def list(self) -> list[ApiKey]:
        return self._keys.list()

    def revoke(self, key_id: str) -> None:
        """Delete the key; it stops working here at once and elsewhere within the auth cache's TTL."""
        if not _KEY_ID.fullmatch(key_id):  # never send DynamoDB a key it would reject as malformed
            raise key_not_found(key_id)
        self._keys.delete(key_id)
        self._forget(key_id)

    def rotate_admin(self) -> str:
        """Issue a new admin key and revoke the old one; returns the new plaintext (shown once)."""
        if self._admin_secret is None:
            raise ServiceUnavailableError("The admin key secret is not writable here")
        new_key = generate_admin_key()
        self._admin_secret(new_key)
        self._forget(ADMIN.key_id)
        return new_key
