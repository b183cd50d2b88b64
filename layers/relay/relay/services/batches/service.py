"""The Batch API's calls: create (checked, then handed to the runner), retrieve, list, cancel."""

from __future__ import annotations

import time
from collections.abc import Callable

from relay.backends.worker import Worker
from relay.errors import BadRequestError, ServiceUnavailableError
from relay.protocol.batch import BATCH_URLS
from relay.protocol.batches import CreateBatchRequest
from relay.services.batches.models import COMPLETION_WINDOW_SECONDS, BatchRecord, new_batch_id
from relay.services.batches.repository import BatchRepository, batch_not_found
from relay.services.files.service import FileService

MAX_LIST_LIMIT = 100


def run_event(record: BatchRecord) -> dict[str, str]:
    """What the batch function is invoked with to run (or go on running) a batch."""
    return {"action": "run", "owner": record.owner, "batch_id": record.id}


class BatchService:
    def __init__(
        self,
        batches: BatchRepository,
        files: FileService,
        runner: Worker | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._batches = batches
        self._files = files
        self._runner = runner
        self._clock = clock

    def create(self, owner: str, request: CreateBatchRequest) -> BatchRecord:
        if request.endpoint not in BATCH_URLS:
            raise BadRequestError(
                f"endpoint {request.endpoint!r} is not supported; use one of {', '.join(BATCH_URLS)}",
                param="endpoint",
            )
        source = self._files.get(owner, request.input_file_id)  # 404 for another key's file too
        if source.purpose != "batch":
            raise BadRequestError(
                f"The input file has purpose {source.purpose!r}; upload it with purpose 'batch'",
                param="input_file_id",
            )
        if self._runner is None:
            raise ServiceUnavailableError("This deployment has no batch function to run batches")
        now = int(self._clock())
        record = BatchRecord(
            id=new_batch_id(),
            owner=owner,
            endpoint=request.endpoint,
            input_file_id=request.input_file_id,
            created_at=now,
            expires_at=now + COMPLETION_WINDOW_SECONDS,
            metadata=request.metadata,
        )
        self._batches.put(record)
        self._runner.submit(run_event(record))
        return record

    def get(self, owner: str, batch_id: str) -> BatchRecord:
        found = self._batches.get(owner, batch_id)
        if found is None:
            raise batch_not_found(batch_id)
        return found

    def list(self, owner: str, *, after: str | None, limit: int) -> tuple[list[BatchRecord], bool]:
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise BadRequestError(f"limit must be between 1 and {MAX_LIST_LIMIT}", param="limit")
        batches = self._batches.list(owner)
        if after is not None:
            ids = [b.id for b in batches]
            batches = batches[ids.index(after) + 1 :] if after in ids else []
        return batches[:limit], len(batches) > limit

    def cancel(self, owner: str, batch_id: str) -> BatchRecord:
        """Stop dispatching; the runner finalizes what finished and moves it to cancelled."""
        current = self.get(owner, batch_id)
        if current.status in ("cancelling", "cancelled"):
            return current
        return self._batches.transition(owner, batch_id, "cancelling", int(self._clock()))
