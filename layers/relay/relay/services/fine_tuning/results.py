"""The `fine-tune-results` file of a succeeded job: its metrics as CSV, in the Files API.

The pipeline records Success without knowing about OpenAI jobs, so the file is written the first
time a succeeded job is read. Its id is derived from the job's, so two readers racing write the
same object and the second record write is refused as a duplicate.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from typing import Protocol

from relay.backends.s3 import ObjectStore
from relay.errors import ConflictError
from relay.services.files.models import FILE_PREFIX, StoredFile, object_key
from relay.services.fine_tuning.models import FineTuningRecord, derived_id
from relay.services.fine_tuning.views import steps_of
from relay.services.training.models import TrainingJob

RESULTS_PURPOSE = "fine-tune-results"
COLUMNS = ("step", "timestamp", "train_loss")


class OutputFiles(Protocol):
    def record_output(
        self, owner: str, file_id: str, filename: str, size: int, *, purpose: str = ...
    ) -> StoredFile: ...


def metrics_csv(job: TrainingJob) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for step, point in zip(steps_of(job.training_loss), job.training_loss, strict=True):
        writer.writerow((step, f"{point.timestamp:.3f}", f"{point.loss:.6f}"))
    return out.getvalue().encode()


def result_file_id(record: FineTuningRecord) -> str:
    return derived_id(FILE_PREFIX, RESULTS_PURPOSE, record.id)


class ResultFiles:
    def __init__(self, files: OutputFiles, objects: ObjectStore) -> None:
        self._files = files
        self._objects = objects

    def write(self, record: FineTuningRecord, job: TrainingJob) -> str:
        """Write the metrics CSV as the owner's file; returns its id (the same on every call)."""
        file_id = result_file_id(record)
        body = metrics_csv(job)
        self._objects.put(
            object_key(record.owner, file_id), body, sha256_hex=hashlib.sha256(body).hexdigest()
        )
        with contextlib.suppress(ConflictError):  # a concurrent reader recorded the same file
            self._files.record_output(
                record.owner, file_id, f"{record.id}-results.csv", len(body), purpose=RESULTS_PURPOSE
            )
        return file_id
