"""The API-key storage port and its in-memory fake."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Protocol

from relay.errors import ConflictError, NotFoundError
from relay.services.keys.models import ApiKey
from relay.services.keys.policy import KeyPolicy


def key_not_found(key_id: str) -> NotFoundError:
    return NotFoundError(f"API key {key_id} not found")


class ApiKeyRepository(Protocol):
    def get(self, key_id: str) -> ApiKey | None: ...
    def put(self, key: ApiKey) -> None:
        """Store a new key (ConflictError if its id is taken)."""
        ...

    def list(self) -> list[ApiKey]: ...
    def delete(self, key_id: str) -> None:
        """Remove the key (NotFoundError if there is none)."""
        ...

    def update(self, key_id: str, name: str, policy: KeyPolicy) -> ApiKey:
        """Replace the key's name and policy; the updated record (NotFoundError if there is none)."""
        ...

    def touch(self, key_id: str, when: int) -> None:
        """Record when the key was last used (nothing if it is gone)."""
        ...


class InMemoryApiKeyRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[str, ApiKey] = {}

    def get(self, key_id: str) -> ApiKey | None:
        return self.items.get(key_id)

    def put(self, key: ApiKey) -> None:
        with self._lock:
            if key.id in self.items:
                raise ConflictError(f"API key {key.id} already exists")
            self.items[key.id] = key

    def list(self) -> list[ApiKey]:
        return sorted(self.items.values(), key=lambda k: (k.created_at, k.id))

    def delete(self, key_id: str) -> None:
        with self._lock:
            if self.items.pop(key_id, None) is None:
                raise key_not_found(key_id)

    def update(self, key_id: str, name: str, policy: KeyPolicy) -> ApiKey:
        with self._lock:
            if key_id not in self.items:
                raise key_not_found(key_id)
            self.items[key_id] = replace(self.items[key_id], name=name, policy=policy)
            return self.items[key_id]

    def touch(self, key_id: str, when: int) -> None:
        with self._lock:
            if key_id in self.items:
                self.items[key_id] = replace(self.items[key_id], last_used_at=when)
