"""Files: upload (in the request, or presigned straight to S3), list, read, download, delete.

A record is written only after S3 holds the bytes, so a listed file can always be read. Every
call names its owner (the caller's key id): another key's file is a 404, as if it did not
exist. Files past `expires_at` are gone to readers at once (DynamoDB's TTL removes the record
later, and the bucket's lifecycle the bytes).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, unquote

from relay.backends.s3 import ObjectStore, PresignedPost
from relay.backends.s3_uploads import StoredObject
from relay.errors import BadRequestError, ConflictError, PayloadTooLargeError
from relay.protocol.files import UPLOAD_PURPOSES
from relay.services.files.models import StoredFile, is_file_id, new_file_id, object_key
from relay.services.files.repository import FileRepository, file_not_found

MAX_LIST_LIMIT = 10_000


class Presigner(Protocol):
    def presign_post(
        self, key: str, *, size: int, sha256_hex: str, metadata: dict[str, str], ttl: int
    ) -> PresignedPost: ...
    def describe(self, key: str) -> StoredObject | None: ...
    def presign_get(self, key: str, *, ttl: int) -> str: ...


@dataclass(frozen=True)
class FileLimits:
    inline_max_bytes: int  # what a multipart upload through the API may carry
    presigned_max_bytes: int  # what one S3 POST may carry
    inline_download_bytes: int  # larger contents are a redirect to a presigned GET
    url_ttl: int


def _purpose(purpose: str) -> str:
    if purpose not in UPLOAD_PURPOSES:
        raise BadRequestError(
            f"purpose must be one of {', '.join(UPLOAD_PURPOSES)}, not {purpose!r}", param="purpose"
        )
    return purpose


def _filename(filename: str | None) -> str:
    name = (filename or "").strip()
    if not name or len(name) > 255:
        raise BadRequestError("The file needs a filename of 1 to 255 characters", param="file")
    return name


class FileService:
    def __init__(
        self,
        repository: FileRepository,
        objects: ObjectStore,
        presigner: Presigner,
        limits: FileLimits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._files = repository
        self._objects = objects
        self._presigner = presigner
        self._limits = limits
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    def _expiry(self, expires_after: int | None) -> int | None:
        return self._now() + expires_after if expires_after is not None else None

    def create(
        self, owner: str, *, filename: str | None, purpose: str, content: bytes, expires_after: int | None
    ) -> StoredFile:
        purpose, name = _purpose(purpose), _filename(filename)
        if len(content) > self._limits.inline_max_bytes:
            raise PayloadTooLargeError(
                f"Files over {self._limits.inline_max_bytes} bytes go through POST /v1/files/uploads "
                "(a presigned S3 upload)",
                param="file",
            )
        if not content:
            raise BadRequestError("The file is empty", param="file")
        file_id, digest = new_file_id(), hashlib.sha256(content).hexdigest()
        self._objects.put(object_key(owner, file_id), content, sha256_hex=digest)
        record = StoredFile(
            file_id, owner, name, purpose, len(content), self._now(), self._expiry(expires_after), digest
        )
        self._files.put(record)
        return record

    def start_upload(
        self, owner: str, *, filename: str, purpose: str, size: int, sha256: str, expires_after: int | None
    ) -> tuple[str, PresignedPost]:
        """A file id and an S3 POST pinned to this size and SHA-256; nothing is recorded yet."""
        purpose, name = _purpose(purpose), _filename(filename)
        if size > self._limits.presigned_max_bytes:
            raise PayloadTooLargeError(
                f"A file may be at most {self._limits.presigned_max_bytes} bytes", param="bytes"
            )
        file_id = new_file_id()
        # What `complete` records travels with the object itself: no record exists before S3 holds it.
        metadata = {"filename": quote(name), "purpose": purpose, "owner": owner, "sha256": sha256}
        if expires_after is not None:
            metadata["expires-after"] = str(expires_after)
        post = self._presigner.presign_post(
            object_key(owner, file_id),
            size=size,
            sha256_hex=sha256,
            metadata=metadata,
            ttl=self._limits.url_ttl,
        )
        return file_id, post

    def complete_upload(self, owner: str, file_id: str) -> StoredFile:
        if not is_file_id(file_id):
            raise file_not_found(file_id)
        existing = self._files.get(owner, file_id)
        if existing is not None:
            return existing  # completing twice answers the same file
        stored = self._presigner.describe(object_key(owner, file_id))
        if stored is None or stored.metadata.get("owner") != owner:
            raise ConflictError(
                f"S3 does not hold an upload for {file_id} yet: POST the file to the upload URL first",
                code="upload_incomplete",
            )
        meta = stored.metadata
        expires_after = int(meta["expires-after"]) if meta.get("expires-after", "").isdigit() else None
        record = StoredFile(
            file_id,
            owner,
            unquote(meta.get("filename", file_id)),
            meta.get("purpose", "user_data"),
            stored.size,
            self._now(),
            self._expiry(expires_after),
            meta.get("sha256"),
        )
        self._files.put(record)
        return record

    def record_output(
        self, owner: str, file_id: str, filename: str, size: int, *, purpose: str = "batch_output"
    ) -> StoredFile:
        """Record a file Relay wrote to `object_key(owner, file_id)` itself (a batch's output, a
        fine-tuning job's `fine-tune-results`)."""
        record = StoredFile(file_id, owner, filename, purpose, size, self._now())
        self._files.put(record)
        return record

    def get(self, owner: str, file_id: str) -> StoredFile:
        record = self._files.get(owner, file_id) if is_file_id(file_id) else None
        if record is None or record.expired(self._now()):
            raise file_not_found(file_id)
        return record

    def list(
        self, owner: str, *, after: str | None, limit: int, order: str, purpose: str | None
    ) -> tuple[list[StoredFile], bool]:
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise BadRequestError(f"limit must be between 1 and {MAX_LIST_LIMIT}", param="limit")
        if order not in ("asc", "desc"):
            raise BadRequestError("order must be asc or desc", param="order")
        now = self._now()
        files = [f for f in self._files.list(owner) if not f.expired(now)]
        if purpose is not None:
            files = [f for f in files if f.purpose == purpose]
        if order == "asc":
            files.reverse()
        if after is not None:
            ids = [f.id for f in files]
            files = files[ids.index(after) + 1 :] if after in ids else []
        return files[:limit], len(files) > limit

    def content(self, owner: str, file_id: str) -> Iterator[bytes] | str:
        """The bytes as chunks, or for a large file a presigned GET URL to redirect to."""
        record = self.get(owner, file_id)
        if record.bytes > self._limits.inline_download_bytes:
            return self._presigner.presign_get(record.key, ttl=self._limits.url_ttl)
        return self._objects.chunks(record.key)

    def read_lines_source(self, owner: str, file_id: str) -> tuple[StoredFile, Iterator[bytes]]:
        """A file's record and its bytes as a stream (batches read their input this way)."""
        record = self.get(owner, file_id)
        return record, self._objects.chunks(record.key)

    def delete(self, owner: str, file_id: str) -> None:
        record = self.get(owner, file_id)
        # The record first: once it is gone no reader finds the file, whatever the bytes' fate.
        self._files.delete(owner, file_id)
        self._objects.delete_prefix(record.key)
