"""The in-memory fakes' shared part for resources a key owns (files, batches, fine-tuning jobs).

Records are kept by (owner, id), as the DynamoDB adapters key them; a list is the owner's
records newest first, the order the adapters return. Each fake adds its own updates.
"""

from __future__ import annotations

import threading
from typing import ClassVar, Generic, Protocol, TypeVar

from relay.errors import ConflictError


class Owned(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def created_at(self) -> int: ...


R = TypeVar("R", bound=Owned)


class InMemoryOwned(Generic[R]):
    noun: ClassVar[str]  # how a conflict names the record: "File", "Batch", ...

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[tuple[str, str], R] = {}

    def put(self, record: R) -> None:
        """Store a new record; ConflictError when its id is taken."""
        with self._lock:
            if (record.owner, record.id) in self.items:
                raise ConflictError(f"{self.noun} {record.id} already exists")
            self.items[(record.owner, record.id)] = record

    def get(self, owner: str, record_id: str) -> R | None:
        return self.items.get((owner, record_id))

    def list(self, owner: str) -> list[R]:
        mine = [r for (o, _), r in self.items.items() if o == owner]
        return sorted(mine, key=lambda r: (r.created_at, r.id), reverse=True)
