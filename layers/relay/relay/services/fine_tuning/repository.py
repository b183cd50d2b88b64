"""The fine-tuning record's storage port, and an in-memory fake with the same conditions."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Protocol

from relay.errors import ConflictError, NotFoundError
from relay.services.fine_tuning.models import FineTuningRecord

# The fields that change after create: a refusal, and the result file once the job succeeded.
UPDATABLE = frozenset({"error", "finished_at", "result_file"})


def job_not_found(job_id: str) -> NotFoundError:
    return NotFoundError(f"No fine-tuning job with id '{job_id}'", param="fine_tuning_job_id")


class FineTuningRepository(Protocol):
    def create(self, record: FineTuningRecord) -> None:
        """Insert the record; ConflictError when the id is taken."""
        ...

    def get(self, owner: str, job_id: str) -> FineTuningRecord | None: ...

    def list(self, owner: str) -> list[FineTuningRecord]:
        """The owner's records, newest first."""
        ...

    def update(self, owner: str, job_id: str, **changes: Any) -> FineTuningRecord:
        """Set fields of `UPDATABLE` on an existing record (NotFoundError when there is none)."""
        ...


def check_changes(changes: dict[str, Any]) -> None:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"fine-tuning records cannot change {sorted(unknown)}")


class InMemoryFineTuningRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], FineTuningRecord] = {}

    def create(self, record: FineTuningRecord) -> None:
        with self._lock:
            if (record.owner, record.id) in self._records:
                raise ConflictError(f"Fine-tuning job {record.id} already exists")
            self._records[(record.owner, record.id)] = record

    def get(self, owner: str, job_id: str) -> FineTuningRecord | None:
        return self._records.get((owner, job_id))

    def list(self, owner: str) -> list[FineTuningRecord]:
        found = [r for (o, _), r in self._records.items() if o == owner]
        return sorted(found, key=lambda r: (r.created_at, r.id), reverse=True)

    def update(self, owner: str, job_id: str, **changes: Any) -> FineTuningRecord:
        check_changes(changes)
        with self._lock:
            record = self._records.get((owner, job_id))
            if record is None:
                raise job_not_found(job_id)
            changed = replace(record, **changes)
            self._records[(owner, job_id)] = changed
            return changed
