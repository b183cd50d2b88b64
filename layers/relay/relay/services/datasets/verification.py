"""Verifying a presigned upload: in the request, or handed to the pipeline worker and settled there.

A record says `is_uploaded` only once S3 holds the object and its SHA-256 matches. A large upload
verified by the worker is kept a day as `invalid`, with its errors, so the client can read why.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace

from relay.backends.s3 import ObjectStore, sha256_b64
from relay.backends.worker import Worker
from relay.errors import BadRequestError, ConflictError, ServiceUnavailableError
from relay.services.datasets import status as st
from relay.services.datasets.models import Dataset, DatasetRejection
from relay.services.datasets.repository import DatasetRepository
from relay.services.datasets.staging import StagedUploads
from relay.services.datasets.validation import ValidationReport, validate_dataset
from relay.settings import Settings

# A refused large upload stays readable (state `invalid`, with the reasons) for a day, then TTL removes it.
INVALID_KEPT_SECONDS = 24 * 3600
# The pipeline worker's step that verifies a handed-off upload (relay.pipeline.steps).
VERIFY_DATASET_STEP = "verify_dataset"


class DatasetRejectedError(BadRequestError):
    """The uploaded object is not the declared one, or not a valid dataset; it has been removed."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        report: ValidationReport | None = None,
        rejection: DatasetRejection | None = None,
    ) -> None:
        super().__init__(message, param="file" if code == "invalid_dataset" else None, code=code)
        self.rejection = rejection or DatasetRejection(
            code=code,
            message=message,
            problem_lines=report.problem_lines if report else 0,
            lines=tuple((p.line, p.message) for p in (report.problems if report else [])),
        )

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetRejectedError:
        """The rejection the worker recorded, raised again for a later `complete`."""
        rejection = dataset.error or DatasetRejection(
            code="invalid_dataset", message=f"Dataset {dataset.id} was refused; upload it again"
        )
        return cls(rejection.message, code=rejection.code, rejection=rejection)


class DatasetVerifier:
    def __init__(
        self,
        datasets: DatasetRepository,
        objects: ObjectStore,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        worker: Worker | None = None,
    ) -> None:
        self._datasets = datasets
        self._objects = objects
        self._settings = settings
        self._clock = clock
        self._worker = worker
        self.staging = StagedUploads(datasets, objects)

    def check_object(self, dataset: Dataset) -> None:
        """The object exists and S3's size and full-object SHA-256 match the declaration (no read)."""
        info = self._objects.head(dataset.object_key)
        if info is None:
            raise ConflictError(
                f"Nothing has been uploaded for dataset {dataset.id} yet: POST the file to the upload URL first",
                code="upload_incomplete",
            )
        if info.size != dataset.size or (info.sha256_b64 and info.sha256_b64 != sha256_b64(dataset.sha256)):
            self._objects.delete_prefix(dataset.object_key)
            raise DatasetRejectedError(
                f"The uploaded object ({info.size} bytes) does not match the declared size ({dataset.size}) "
                "or SHA-256; upload the file again",
                code="checksum_mismatch",
            )

    def verify(self, dataset: Dataset) -> Dataset:
        """The one verification of a presigned upload, in the request or in the worker.

        Returns the dataset with its format and row count. A wrong or invalid object is removed
        and DatasetRejectedError raised; the caller decides what becomes of the record.
        """
        self.check_object(dataset)
        report = validate_dataset(self._objects.chunks(dataset.object_key), dataset.filename)
        if report.size != dataset.size or report.sha256 != dataset.sha256:
            self._objects.delete_prefix(dataset.object_key)
            raise DatasetRejectedError(
                f"The uploaded object's SHA-256 is {report.sha256}, not the declared {dataset.sha256}; "
                "upload the file again",
                code="checksum_mismatch",
            )
        if not report.ok:
            self._objects.delete_prefix(dataset.object_key)
            raise DatasetRejectedError(report.summary(), code="invalid_dataset", report=report)
        return replace(dataset, format=report.format, num_rows=report.rows)

    def hand_off(self, dataset: Dataset) -> Dataset:
        """Move a pending upload to `verifying` and queue it for the worker (returns it verifying)."""
        if self._worker is None:
            raise ServiceUnavailableError(
                f"Datasets over {self._settings.dataset_sync_verify_max_bytes} bytes are verified by the "
                "pipeline worker, and none is configured here (RELAY_WORKER_FUNCTION_NAME)"
            )
        self.check_object(dataset)  # what S3 already knows: refuse a missing or wrong object now
        try:
            handed = self._datasets.begin_verify(dataset.project_id, dataset.id, int(self._clock()))
        except ConflictError:
            current = self._datasets.get(dataset.project_id, dataset.id)
            if current is not None and current.state in (st.VERIFYING, st.UPLOADED):
                return current  # a concurrent completion handed it off
            if current is not None and current.state == st.INVALID:
                raise DatasetRejectedError.of(current) from None
            raise
        event = {"step": VERIFY_DATASET_STEP, "project_id": dataset.project_id, "dataset_id": dataset.id}
        try:
            self._worker.submit(event)
        except BaseException:
            # Back to pending, so the client's retry of `complete` hands it off again.
            with contextlib.suppress(ConflictError):
                self._datasets.abort_verify(dataset.project_id, dataset.id, int(self._clock()))
            raise
        return handed

    def verify_handed_off(self, project_id: str, dataset_id: str) -> Dataset | None:
        """The worker's half: verify a `verifying` dataset, then record it uploaded or invalid.

        Idempotent (Lambda may run an asynchronous event twice): a dataset no longer verifying,
        deleted meanwhile or settled by an earlier run, is returned as it is. Only a transient
        failure (S3 or DynamoDB unavailable) raises, so Lambda retries the event.
        """
        dataset = self._datasets.get(project_id, dataset_id)
        if dataset is None or dataset.state != st.VERIFYING:
            return dataset
        try:
            verified = self.verify(dataset)
        except DatasetRejectedError as exc:
            return self._mark_invalid(dataset, exc.rejection)
        except ConflictError as exc:
            if exc.code != "upload_incomplete":
                raise
            gone = f"The object of dataset {dataset_id} disappeared before it was verified; upload it again"
            return self._mark_invalid(dataset, DatasetRejection(code=exc.code, message=gone))
        except Exception:
            current = self._datasets.get(project_id, dataset_id)
            if current is None or current.state != st.VERIFYING:  # deleted while being read
                return current
            raise
        try:
            return self.staging.record(verified, int(self._clock()))
        except ConflictError:
            return self._datasets.get(project_id, dataset_id)

    def fail_handed_off(self, project_id: str, dataset_id: str, reason: str) -> Dataset | None:
        """A verification that failed every retry (its OnFailure record): the dataset ends `invalid`.

        Without this it would stay `verifying` until its TTL. The upload is removed: it cannot be
        completed any more, and the client is told to send it again.
        """
        dataset = self._datasets.get(project_id, dataset_id)
        if dataset is None or dataset.state != st.VERIFYING:
            return dataset  # settled meanwhile (a later run succeeded, or it was deleted)
        self._objects.delete_prefix(dataset.object_key)
        message = f"The upload of dataset {dataset_id} could not be verified ({reason}); upload it again"
        return self._mark_invalid(dataset, DatasetRejection(code="verification_failed", message=message))

    def _mark_invalid(self, dataset: Dataset, rejection: DatasetRejection) -> Dataset | None:
        now = int(self._clock())
        try:
            return self._datasets.mark_invalid(dataset, rejection, now, now + INVALID_KEPT_SECONDS)
        except ConflictError:  # deleted meanwhile
            return self._datasets.get(dataset.project_id, dataset.id)
