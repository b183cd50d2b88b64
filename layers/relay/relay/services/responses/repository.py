"""The stored-response storage port and its in-memory fake."""

from __future__ import annotations

import threading
from typing import Protocol

from relay.errors import NotFoundError
from relay.services.responses.models import StoredResponse


def response_not_found(response_id: str) -> NotFoundError:
    return NotFoundError(f"No response found with id '{response_id}'", param="response_id")


class ResponseRepository(Protocol):
    def put(self, stored: StoredResponse) -> None: ...
    def get(self, response_id: str) -> StoredResponse | None:
        """The stored response, or None when there is none (or it expired)."""
        ...

    def delete(self, response_id: str) -> None:
        """Remove it (nothing when it is already gone)."""
        ...


class InMemoryResponseRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[str, StoredResponse] = {}

    def put(self, stored: StoredResponse) -> None:
        with self._lock:
            self.items[stored.id] = stored

    def get(self, response_id: str) -> StoredResponse | None:
        return self.items.get(response_id)

    def delete(self, response_id: str) -> None:
        with self._lock:
            self.items.pop(response_id, None)
