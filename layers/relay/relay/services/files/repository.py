"""The file-record storage port and its in-memory fake."""

from __future__ import annotations

import threading
from typing import Protocol

from relay.errors import ConflictError, NotFoundError
from relay.services.files.models import StoredFile


def file_not_found(file_id: str) -> NotFoundError:
    return NotFoundError(f"No such File object: {file_id}", param="file_id")


class FileRepository(Protocol):
    def get(self, owner: str, file_id: str) -> StoredFile | None: ...
    def put(self, record: StoredFile) -> None:
        """Record a file S3 now holds (ConflictError if the id is taken)."""
        ...

    def list(self, owner: str) -> list[StoredFile]:
        """The owner's files, newest first."""
        ...

    def delete(self, owner: str, file_id: str) -> None:
        """Remove the record (NotFoundError if there is none)."""
        ...


class InMemoryFileRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[tuple[str, str], StoredFile] = {}

    def get(self, owner: str, file_id: str) -> StoredFile | None:
        return self.items.get((owner, file_id))

    def put(self, record: StoredFile) -> None:
        with self._lock:
            if (record.owner, record.id) in self.items:
                raise ConflictError(f"File {record.id} already exists")
            self.items[(record.owner, record.id)] = record

    def list(self, owner: str) -> list[StoredFile]:
        mine = [f for (o, _), f in self.items.items() if o == owner]
        return sorted(mine, key=lambda f: (f.created_at, f.id), reverse=True)

    def delete(self, owner: str, file_id: str) -> None:
        with self._lock:
            if self.items.pop((owner, file_id), None) is None:
                raise file_not_found(file_id)
