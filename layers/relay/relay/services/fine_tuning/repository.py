"""The fine-tuning record's storage port, and an in-memory fake with the same conditions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from relay.errors import NotFoundError
from relay.services.fine_tuning.models import FineTuningRecord
from relay.services.owned import InMemoryOwned

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


class InMemoryFineTuningRepository(InMemoryOwned[FineTuningRecord]):
    noun = "Fine-tuning job"

    def create(self, record: FineTuningRecord) -> None:
        self.put(record)

    def update(self, owner: str, job_id: str, **changes: Any) -> FineTuningRecord:
        check_changes(changes)
        with self._lock:
            record = self.items.get((owner, job_id))
            if record is None:
                raise job_not_found(job_id)
            changed = replace(record, **changes)
            self.items[(owner, job_id)] = changed
            return changed
