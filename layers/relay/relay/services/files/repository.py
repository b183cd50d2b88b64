"""The file-record storage port and its in-memory fake."""

from __future__ import annotations

from typing import Protocol

from relay.errors import NotFoundError
from relay.services.files.models import StoredFile
from relay.services.owned import InMemoryOwned


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


class InMemoryFileRepository(InMemoryOwned[StoredFile]):
    noun = "File"

    def delete(self, owner: str, file_id: str) -> None:
        with self._lock:
            if self.items.pop((owner, file_id), None) is None:
                raise file_not_found(file_id)
