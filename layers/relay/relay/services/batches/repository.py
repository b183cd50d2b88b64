"""The batch storage port and its in-memory fake."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from relay.errors import ConflictError, NotFoundError
from relay.services.batches import status as statuses
from relay.services.batches.models import BatchRecord
from relay.services.owned import InMemoryOwned


def batch_not_found(batch_id: str) -> NotFoundError:
    return NotFoundError(f"No batch found with id '{batch_id}'", param="batch_id")


def wrong_status(batch_id: str, target: str) -> ConflictError:
    return ConflictError(f"Batch {batch_id} cannot move to {target} from its current status")


class BatchRepository(Protocol):
    def put(self, record: BatchRecord) -> None: ...
    def get(self, owner: str, batch_id: str) -> BatchRecord | None: ...
    def list(self, owner: str) -> list[BatchRecord]:
        """Newest first."""
        ...

    def transition(self, owner: str, batch_id: str, target: str, when: int, **fields: Any) -> BatchRecord:
        """Move to `target` (stamping its time) from a status the table allows, else ConflictError."""
        ...

    def sent(self, owner: str, batch_id: str, counts: Mapping[str, int], cursor: int) -> None:
        """`counts` more lines (by model) are in flight; the next line to send starts at `cursor`."""
        ...

    def answered(
        self, owner: str, batch_id: str, model: str, outcome: str, input_tokens: int, output_tokens: int
    ) -> BatchRecord:
        """A line of `model` came back `completed`, `failed` or `skipped`; returns the record after."""
        ...


class InMemoryBatchRepository(InMemoryOwned[BatchRecord]):
    noun = "Batch"

    def _current(self, owner: str, batch_id: str) -> BatchRecord:
        found = self.items.get((owner, batch_id))
        if found is None:
            raise batch_not_found(batch_id)
        return found

    def transition(self, owner: str, batch_id: str, target: str, when: int, **fields: Any) -> BatchRecord:
        with self._lock:
            current = self._current(owner, batch_id)
            if not statuses.can_transition(current.status, target):
                raise wrong_status(batch_id, target)
            updated = replace(
                current, status=target, stamps={**current.stamps, statuses.STAMPS[target]: when}
            )
            updated = replace(updated, **fields)
            self.items[(owner, batch_id)] = updated
            return updated

    def sent(self, owner: str, batch_id: str, counts: Mapping[str, int], cursor: int) -> None:
        with self._lock:
            current = self._current(owner, batch_id)
            inflight = dict(current.inflight)
            for model, n in counts.items():
                inflight[model] = inflight.get(model, 0) + n
            self.items[(owner, batch_id)] = replace(
                current, sent=current.sent + sum(counts.values()), cursor=cursor, inflight=inflight
            )

    def answered(
        self, owner: str, batch_id: str, model: str, outcome: str, input_tokens: int, output_tokens: int
    ) -> BatchRecord:
        with self._lock:
            current = self._current(owner, batch_id)
            inflight = {**current.inflight, model: current.inflight.get(model, 0) - 1}
            counts = {outcome: getattr(current, outcome) + 1}
            updated = replace(
                current,
                inflight=inflight,
                input_tokens=current.input_tokens + input_tokens,
                output_tokens=current.output_tokens + output_tokens,
                **counts,
            )
            self.items[(owner, batch_id)] = updated
            return updated
