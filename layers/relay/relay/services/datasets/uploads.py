"""Dataset uploads: a file sent through the API (multipart), or declared, presigned and completed.

Invalid content verified in the request is never recorded. A presigned upload is recorded
`pending` until `complete` verifies it here or hands it to the worker (`verification.py`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import PurePosixPath

from relay.backends.s3 import ObjectStore, PresignedPost
from relay.errors import BadRequestError, ConflictError, PayloadTooLargeError
from relay.services.datasets import status as st
from relay.services.datasets.models import Dataset
from relay.services.datasets.repository import DatasetRepository
from relay.services.datasets.service import DatasetService
from relay.services.datasets.validation import validate_dataset
from relay.services.datasets.verification import DatasetRejectedError, DatasetVerifier
from relay.services.keys.models import Principal
from relay.services.layout import DATASET_PREFIX, dataset_object_key, new_id, staging_object_key
from relay.services.projects.service import ProjectService, clean_name
from relay.settings import Settings

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# An abandoned presigned upload's record outlives its URL by a day, then DynamoDB's TTL removes it.
_PENDING_GRACE = 24 * 3600


def safe_filename(raw: str | None) -> str:
    """An object-key-safe file name that keeps the extension (it selects JSONL or CSV)."""
    base = PurePosixPath((raw or "").replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip("._")[-100:]
    return cleaned or "dataset"


class DatasetUploads:
    def __init__(
        self,
        projects: ProjectService,
        datasets: DatasetService,
        repository: DatasetRepository,
        verifier: DatasetVerifier,
        objects: ObjectStore,
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._projects = projects
        self._service = datasets
        self._datasets = repository
        self._verifier = verifier
        self._objects = objects
        self._settings = settings
        self._clock = clock

    def too_large(self, size: int) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"The upload is {size} bytes; this route takes files up to "
            f"{self._settings.dataset_inline_max_bytes} bytes. Upload larger files (up to "
            f"{self._settings.dataset_presigned_max_bytes} bytes) with the presigned flow: "
            "POST /v1/projects/{project_id}/datasets/uploads, POST the file to the returned URL, "
            "then POST /v1/projects/{project_id}/datasets/{dataset_id}/complete"
        )

    def upload(
        self,
        project_id: str,
        principal: Principal,
        *,
        filename: str | None,
        content: bytes,
        name: str | None,
    ) -> Dataset:
        """Validate and store a file sent through the API (multipart)."""
        self._projects.get_owned(project_id, principal)
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
            upload_by=principal.key_id,
            state=st.UPLOADED,
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
        self,
        project_id: str,
        principal: Principal,
        *,
        name: str | None,
        filename: str | None,
        size: int,
        sha256: str,
    ) -> tuple[Dataset, PresignedPost]:
        """Record a pending dataset and presign a POST that S3 accepts only for these exact bytes."""
        self._projects.get_owned(project_id, principal)
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
            # Staged until `complete` verifies it (see staging.py).
            object_key=staging_object_key(project_id, dataset_id, safe),
            created_at=now,
            updated_at=now,
            upload_by=principal.key_id,
            sha256=digest,
            size=size,
            expires_at=now + ttl + _PENDING_GRACE,
        )
        self._datasets.add(dataset)
        post = self._objects.presign_post(dataset.object_key, size=size, sha256_hex=digest, ttl=ttl)
        return dataset, post

    def complete_upload(self, project_id: str, dataset_id: str, principal: Principal) -> Dataset:
        """Verify the uploaded object and mark it uploaded, or hand it to the worker.

        Up to `dataset_sync_verify_max_bytes` the whole verification runs here and the dataset
        comes back uploaded (an invalid one is forgotten: 400). Above it, once S3 confirms the
        object's size and checksum, the dataset comes back `verifying` (the route answers 202)
        and the worker records `uploaded` or `invalid`. Calling again is safe at every stage.
        """
        dataset = self._service.get(project_id, dataset_id, principal)
        if dataset.is_uploaded or dataset.state == st.VERIFYING:
            return dataset
        if dataset.state == st.INVALID:
            raise DatasetRejectedError.of(dataset)
        if dataset.state != st.PENDING:
            raise ConflictError(f"Dataset {dataset_id} is being deleted")
        if dataset.size > self._settings.dataset_sync_verify_max_bytes:
            return self._verifier.hand_off(dataset)
        try:
            verified = self._verifier.verify(dataset)
        except DatasetRejectedError as exc:
            if exc.code == "invalid_dataset":
                self._datasets.remove(project_id, dataset_id)
            raise
        try:
            return self._verifier.staging.record(verified, int(self._clock()))
        except ConflictError:
            current = self._service.get(project_id, dataset_id, principal)
            if current.is_uploaded:  # a concurrent completion won: same bytes, same answer
                return current
            raise
