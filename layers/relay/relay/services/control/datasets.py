"""Datasets: upload through the API or through a presigned S3 POST, verify, validate, serve, delete.

A record says `is_uploaded` only once S3 holds the object and its SHA-256 matches. Invalid
content verified in the request is never recorded; a large upload verified by the pipeline
worker is kept a day as `invalid`, with its errors, so the client can read why. Pending,
verifying and invalid records expire from the table by TTL (`expires_at`).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from relay.backends.s3 import ObjectStore, PresignedPost, sha256_b64
from relay.backends.worker import Worker
from relay.errors import BadRequestError, ConflictError, PayloadTooLargeError, ServiceUnavailableError
from relay.services.control.layout import (
    DATASET_PREFIX,
    TRAINING_TERMINAL,
    Dataset,
    dataset_object_key,
    is_id,
    new_id,
    project_prefix,
)
from relay.services.control.projects import ProjectService, clean_name
from relay.services.control.repository import DatasetRepository, dataset_not_found
from relay.services.control.validation import ValidationReport, validate_dataset
from relay.settings import Settings

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# An abandoned presigned upload's record outlives its URL by a day, then DynamoDB's TTL removes it.
_PENDING_GRACE = 24 * 3600
# A refused large upload stays readable (state `invalid`, with the reasons) for a day, then TTL removes it.
_INVALID_KEPT = 24 * 3600
# The pipeline worker's step that verifies a handed-off upload (relay.pipeline.steps).
VERIFY_DATASET_STEP = "verify_dataset"


def safe_filename(raw: str | None) -> str:
    """An object-key-safe file name that keeps the extension (it selects JSONL or CSV)."""
    base = PurePosixPath((raw or "").replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip("._")[-100:]
    return cleaned or "dataset"


class DatasetRejectedError(BadRequestError):
    """The uploaded object is not the declared one, or not a valid dataset; it has been removed."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        report: ValidationReport | None = None,
        record: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, param="file" if code == "invalid_dataset" else None, code=code)
        self._record = record or {
            "code": code,
            "message": message,
            "problem_lines": report.problem_lines if report else 0,
            "lines": [{"line": p.line, "message": p.message} for p in (report.problems if report else [])],
        }

    def record(self) -> dict[str, Any]:
        """What an invalid dataset's record keeps: code, message and the first line errors."""
        return dict(self._record)

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetRejectedError:
        """The rejection the worker recorded, raised again for a later `complete`."""
        record = dataset.error or {}
        message = str(record.get("message") or f"Dataset {dataset.id} was refused; upload it again")
        return cls(message, code=str(record.get("code") or "invalid_dataset"), record=record)


class DatasetService:
    def __init__(
        self,
        projects: ProjectService,
        datasets: DatasetRepository,
        objects: ObjectStore,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        worker: Worker | None = None,
    ) -> None:
        self._projects = projects
        self._datasets = datasets
        self._objects = objects
        self._settings = settings
        self._clock = clock
        self._worker = worker

    def too_large(self, size: int) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"The upload is {size} bytes; this route takes files up to "
            f"{self._settings.dataset_inline_max_bytes} bytes. Upload larger files (up to "
            f"{self._settings.dataset_presigned_max_bytes} bytes) with the presigned flow: "
            "POST /v1/projects/{project_id}/datasets/uploads, POST the file to the returned URL, "
            "then POST /v1/projects/{project_id}/datasets/{dataset_id}/complete"
        )

    def upload(
        self, project_id: str, *, filename: str | None, content: bytes, name: str | None, by: str
    ) -> Dataset:
        """Validate and store a file sent through the API (multipart)."""
        self._projects.require(project_id)
        if len(content) > self._settings.dataset_inline_max_bytes:
            raise self.too_large(len(content))
        safe = safe_filename(filename)
        report = validate_dataset([content], safe)
        if not report.ok:
            raise BadRequestError(report.summary(), param="file", code="invalid_dataset")
        now = int(self._clock())
        dataset_id = new_id(DATASET_PREFIX)
        key = dataset_object_key(project_id, dataset_id, safe)
        dataset = Dataset(
            id=dataset_id,
            project_id=project_id,
            name=clean_name(name, default=filename or safe),
            filename=safe,
            object_key=key,
            created_at=now,
            updated_at=now,
            upload_by=by,
            state="uploaded",
            sha256=report.sha256,
            size=report.size,
            format=report.format,
            num_rows=report.rows,
            uploaded_at=now,
        )
        self._objects.put(key, content, sha256_hex=report.sha256)
        try:
            self._datasets.add(dataset)
        except BaseException:
            self._objects.delete_prefix(key)
            raise
        return dataset

    def start_upload(
        self, project_id: str, *, name: str | None, filename: str | None, size: int, sha256: str, by: str
    ) -> tuple[Dataset, PresignedPost]:
        """Record a pending dataset and presign a POST that S3 accepts only for these exact bytes."""
        self._projects.require(project_id)
        if size > self._settings.dataset_presigned_max_bytes:
            raise PayloadTooLargeError(
                f"The file is {size} bytes; datasets can be at most "
                f"{self._settings.dataset_presigned_max_bytes} bytes (5 GiB, S3's single-upload limit)"
            )
        digest = sha256.strip().lower()
        if not _SHA256.match(digest):
            raise BadRequestError("sha256 must be the file's SHA-256 as 64 hex digits", param="sha256")
        now = int(self._clock())
        ttl = int(self._settings.upload_url_ttl)
        dataset_id = new_id(DATASET_PREFIX)
        safe = safe_filename(filename)
        dataset = Dataset(
            id=dataset_id,
            project_id=project_id,
            name=clean_name(name, default=filename or safe),
            filename=safe,
            object_key=dataset_object_key(project_id, dataset_id, safe),
            created_at=now,
            updated_at=now,
            upload_by=by,
            sha256=digest,
            size=size,
            expires_at=now + ttl + _PENDING_GRACE,
        )
        self._datasets.add(dataset)
        post = self._objects.presign_post(dataset.object_key, size=size, sha256_hex=digest, ttl=ttl)
        return dataset, post

    def complete_upload(self, project_id: str, dataset_id: str) -> Dataset:
        """Verify the uploaded object and mark it uploaded, or hand it to the worker.

        Up to `dataset_sync_verify_max_bytes` the whole verification runs here and the dataset
        comes back uploaded (an invalid one is forgotten: 400). Above it, once S3 confirms the
        object's size and checksum, the dataset comes back `verifying` (the route answers 202)
        and the worker records `uploaded` or `invalid`. Calling again is safe at every stage.
        """
        dataset = self.get(project_id, dataset_id)
        if dataset.is_uploaded or dataset.state == "verifying":
            return dataset
        if dataset.state == "invalid":
            raise DatasetRejectedError.of(dataset)
        if dataset.state != "pending":
            raise ConflictError(f"Dataset {dataset_id} is being deleted")
        if dataset.size > self._settings.dataset_sync_verify_max_bytes:
            return self._hand_off(dataset)
        try:
            verified = self._verify(dataset)
        except DatasetRejectedError as exc:
            if exc.code == "invalid_dataset":
                self._datasets.remove(project_id, dataset_id)
            raise
        try:
            return self._datasets.mark_uploaded(verified, int(self._clock()))
        except ConflictError:
            current = self.get(project_id, dataset_id)
            if current.is_uploaded:  # a concurrent completion won: same bytes, same answer
                return current
            raise

    def _hand_off(self, dataset: Dataset) -> Dataset:
        if self._worker is None:
            raise ServiceUnavailableError(
                f"Datasets over {self._settings.dataset_sync_verify_max_bytes} bytes are verified by the "
                "pipeline worker, and none is configured here (RELAY_WORKER_FUNCTION_NAME)"
            )
        self._check_object(dataset)  # what S3 already knows: refuse a missing or wrong object now
        try:
            handed = self._datasets.begin_verify(dataset.project_id, dataset.id, int(self._clock()))
        except ConflictError:
            current = self.get(dataset.project_id, dataset.id)
            if current.state in ("verifying", "uploaded"):  # a concurrent completion handed it off
                return current
            if current.state == "invalid":
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
        if dataset is None or dataset.state != "verifying":
            return dataset
        try:
            verified = self._verify(dataset)
        except DatasetRejectedError as exc:
            return self._mark_invalid(dataset, exc)
        except ConflictError as exc:
            if exc.code != "upload_incomplete":
                raise
            gone = f"The object of dataset {dataset_id} disappeared before it was verified; upload it again"
            return self._mark_invalid(dataset, DatasetRejectedError(gone, code=exc.code))
        except Exception:
            current = self._datasets.get(project_id, dataset_id)
            if current is None or current.state != "verifying":  # deleted while being read
                return current
            raise
        try:
            return self._datasets.mark_uploaded(verified, int(self._clock()))
        except ConflictError:
            return self._datasets.get(project_id, dataset_id)

    def _mark_invalid(self, dataset: Dataset, rejection: DatasetRejectedError) -> Dataset | None:
        now = int(self._clock())
        try:
            return self._datasets.mark_invalid(dataset, rejection.record(), now, now + _INVALID_KEPT)
        except ConflictError:  # deleted meanwhile
            return self._datasets.get(dataset.project_id, dataset.id)

    def _check_object(self, dataset: Dataset) -> None:
        """The object exists and S3's size and full-object SHA-256 match the declaration (no read)."""
        info = self._objects.head(dataset.object_key)
        if info is None:
            raise ConflictError(
                f"Nothing has been uploaded for dataset {dataset.id} yet: POST the file to the upload URL first",
                code="upload_incomplete",
            )
        if info.size != dataset.size or (info.sha256_b64 and info.sha256_b64 != sha256_b64(dataset.sha256)):
            self._reject_object(dataset)
            raise DatasetRejectedError(
                f"The uploaded object ({info.size} bytes) does not match the declared size ({dataset.size}) "
                "or SHA-256; upload the file again",
                code="checksum_mismatch",
            )

    def _verify(self, dataset: Dataset) -> Dataset:
        """The one verification of a presigned upload, in the request or in the worker.

        Returns the dataset with its format and row count. A wrong or invalid object is removed
        and DatasetRejectedError raised; the caller decides what becomes of the record.
        """
        self._check_object(dataset)
        report = validate_dataset(self._objects.chunks(dataset.object_key), dataset.filename)
        if report.size != dataset.size or report.sha256 != dataset.sha256:
            self._reject_object(dataset)
            raise DatasetRejectedError(
                f"The uploaded object's SHA-256 is {report.sha256}, not the declared {dataset.sha256}; "
                "upload the file again",
                code="checksum_mismatch",
            )
        if not report.ok:
            self._reject_object(dataset)
            raise DatasetRejectedError(report.summary(), code="invalid_dataset", report=report)
        return replace(dataset, format=report.format, num_rows=report.rows)

    def _reject_object(self, dataset: Dataset) -> None:
        self._objects.delete_prefix(dataset.object_key)

    def get(self, project_id: str, dataset_id: str) -> Dataset:
        self._projects.require(project_id)
        found = self._datasets.get(project_id, dataset_id) if is_id(dataset_id, DATASET_PREFIX) else None
        if found is None:
            raise dataset_not_found(dataset_id)
        return found

    def download_url(self, dataset: Dataset) -> str | None:
        if not dataset.is_uploaded:
            return None
        ttl = int(self._settings.download_url_ttl)
        return self._objects.presign_get(dataset.object_key, ttl=ttl, filename=dataset.filename)

    def list(self, project_id: str) -> list[Dataset]:
        self._projects.require(project_id)
        return self._datasets.list(project_id)

    def delete(self, project_id: str, dataset_id: str) -> None:
        """Remove the dataset and its object; 409 while a non-terminal training job uses it."""
        self.get(project_id, dataset_id)
        before = self._datasets.begin_delete(project_id, dataset_id, int(self._clock()))
        users = [
            str(job.get("id"))
            for job in self._datasets.training_jobs(project_id)
            if job.get("status") not in TRAINING_TERMINAL
            and dataset_id in (job.get("train_dataset_id"), job.get("test_dataset_id"))
        ]
        if users:
            self._datasets.restore(before)
            raise ConflictError(
                f"Dataset {dataset_id} is used by training job(s) {', '.join(users)} that have not finished",
                code="dataset_in_use",
            )
        self._objects.delete_prefix(f"{project_prefix(project_id)}datasets/{dataset_id}/")
        self._datasets.remove(project_id, dataset_id)
