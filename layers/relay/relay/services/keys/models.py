"""API keys as typed records, and the shape of a presented Relay key.

A key reads `sk-relay-<id>-<secret>`. The id lets auth do one GetItem instead of a scan or
an eventually consistent index query; the secret is 256 random bits, so an unsalted
SHA-256 is enough (there is nothing to brute-force as with passwords).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from relay.services.keys.policy import KeyPolicy

KEY_PREFIX = "sk-relay-"
KEY_ID_LENGTH = 12
_MAX_SECRET_LENGTH = 128


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    key_hash: str
    created_at: int
    last_used_at: int | None = None
    policy: KeyPolicy = field(default_factory=KeyPolicy)


@dataclass(frozen=True)
class Principal:
    """Who a request authenticated as: the admin key, or a stored key by its id.

    `is_admin` is the admin key or an `admin`-role key; `policy` is None for the admin key.
    """

    key_id: str
    is_admin: bool
    # Not part of a principal's identity: the same key before and after a PATCH is one principal.
    policy: KeyPolicy | None = field(default=None, compare=False)


ADMIN = Principal(key_id="admin", is_admin=True)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_key(presented: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed Relay key, else None."""
    if not presented.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = presented[len(KEY_PREFIX) :].partition("-")
    if not sep or len(key_id) != KEY_ID_LENGTH or not secret or len(secret) > _MAX_SECRET_LENGTH:
        return None
    return key_id, secret
