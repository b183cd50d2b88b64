"""Objects in the Relay bucket: an `ObjectStore` port, the S3 adapter and an in-memory fake.

The adapter maps S3's errors by code (`aws_control`): callers see domain errors only.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.backends.aws_control import raise_control_error
from relay.errors import ConflictError, ServiceUnavailableError

_CHUNK = 1024 * 1024
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_DELETE_BATCH = 1000


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    sha256_b64: str | None  # S3's full-object SHA-256 when the upload carried one


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]
    expires_at: int


def sha256_b64(hex_digest: str) -> str:
    """S3 wants checksums base64-encoded; the API speaks hex like `sha256sum`."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


class ObjectStore(Protocol):
    def put(self, key: str, body: bytes, *, sha256_hex: str) -> None: ...
    def head(self, key: str) -> ObjectInfo | None: ...
    def chunks(self, key: str) -> Iterator[bytes]: ...
    def delete_prefix(self, prefix: str) -> int:
        """Delete every version of every object under `prefix`; returns how many went."""
        ...

    def presign_post(self, key: str, *, size: int, sha256_hex: str, ttl: int) -> PresignedPost: ...
    def presign_get(self, key: str, *, ttl: int, filename: str) -> str: ...
    def read(self, key: str) -> bytes:
        """The whole object (small files: data splits, predictions, checkpoint metadata)."""
        ...

    def write(self, key: str, body: bytes, *, content_type: str) -> None: ...
    def copy(self, source: str, target: str) -> None:
        """Copy an object inside the bucket (server side, up to 5 GiB), S3 recomputing its SHA-256."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix` (current versions)."""
        ...


def _gone(key: str) -> ConflictError:
    """An object a caller was told exists is not there any more (the adapter and the fake alike)."""
    return ConflictError(f"The object {key} is no longer in the bucket", code="upload_incomplete")


def _unavailable(exc: Exception) -> ServiceUnavailableError:
    return ServiceUnavailableError("The dataset bucket could not be reached", retry_after=1)


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes, *, sha256_hex: str) -> None:
        # S3 recomputes the SHA-256 and refuses the write on a mismatch (BadDigest).
        try:
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ChecksumSHA256=sha256_b64(sha256_hex)
            )
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        except ClientError as exc:
            raise_control_error(exc, "PutObject")

    def head(self, key: str) -> ObjectInfo | None:
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return None
            raise_control_error(exc, "HeadObject")
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        checksum = head.get("ChecksumSHA256")
        # A multipart object's checksum is a checksum of part checksums ("...-N"): not comparable.
        if checksum and ("-" in checksum or head.get("ChecksumType") == "COMPOSITE"):
            checksum = None
        return ObjectInfo(size=int(head["ContentLength"]), sha256_b64=checksum)

    def chunks(self, key: str) -> Iterator[bytes]:
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                # Gone between the HeadObject that found it and this read.
                raise _gone(key) from exc
            raise_control_error(exc, "GetObject")
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        try:
            yield from body.iter_chunks(_CHUNK)
        except BotoCoreError as exc:  # the connection broke mid-read
            raise _unavailable(exc) from exc
        finally:
            body.close()

    def delete_prefix(self, prefix: str) -> int:
        doomed: list[dict[str, str]] = []
        paginator = self._client.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    doomed.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
            for start in range(0, len(doomed), _DELETE_BATCH):
                batch = doomed[start : start + _DELETE_BATCH]
                result = self._client.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True}
                )
                if result.get("Errors"):
                    first = result["Errors"][0]
                    raise ServiceUnavailableError(
                        f"Could not delete {first.get('Key')}: {first.get('Message')}", retry_after=1
                    )
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        except ClientError as exc:
            raise_control_error(exc, "DeleteObjects")
        return len(doomed)

    def presign_post(self, key: str, *, size: int, sha256_hex: str, ttl: int) -> PresignedPost:
        checksum = sha256_b64(sha256_hex)
        fields = {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": checksum}
        # The policy pins the exact size and the declared SHA-256: S3 itself refuses any other body.
        conditions: list[Any] = [
            ["content-length-range", size, size],
            {"x-amz-checksum-algorithm": "SHA256"},
            {"x-amz-checksum-sha256": checksum},
        ]
        post = self._client.generate_presigned_post(
            Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=ttl
        )
        return PresignedPost(url=post["url"], fields=dict(post["fields"]), expires_at=int(time.time()) + ttl)

    def presign_get(self, key: str, *, ttl: int, filename: str) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ResponseContentDisposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            },
            ExpiresIn=ttl,
        )
        return url

    def read(self, key: str) -> bytes:
        try:
            body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            raise_control_error(exc, "GetObject")
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return body

    def write(self, key: str, body: bytes, *, content_type: str) -> None:
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as exc:
            raise_control_error(exc, "PutObject")
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    def copy(self, source: str, target: str) -> None:
        try:
            self._client.copy_object(
                Bucket=self._bucket,
                Key=target,
                CopySource={"Bucket": self._bucket, "Key": source},
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise _gone(source) from exc
            raise_control_error(exc, "CopyObject")
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix
            ):
                found.extend(obj["Key"] for obj in page.get("Contents", []))
        except ClientError as exc:
            raise_control_error(exc, "ListObjectsV2")
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return found


class InMemoryObjectStore:
    """A bucket in a dict; `objects` may be written directly to play the client's POST upload."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.checksums: dict[str, str] = {}

    def put(self, key: str, body: bytes, *, sha256_hex: str) -> None:
        if hashlib.sha256(body).hexdigest() != sha256_hex:
            raise ValueError("BadDigest")
        self.objects[key] = body
        self.checksums[key] = sha256_b64(sha256_hex)

    def head(self, key: str) -> ObjectInfo | None:
        body = self.objects.get(key)
        return None if body is None else ObjectInfo(len(body), self.checksums.get(key))

    def chunks(self, key: str) -> Iterator[bytes]:
        body = self.objects[key]
        for start in range(0, len(body), 7):  # tiny chunks: lines must survive any split
            yield body[start : start + 7]

    def delete_prefix(self, prefix: str) -> int:
        doomed = [k for k in self.objects if k.startswith(prefix)]
        for key in doomed:
            del self.objects[key]
            self.checksums.pop(key, None)
        return len(doomed)

    def presign_post(self, key: str, *, size: int, sha256_hex: str, ttl: int) -> PresignedPost:
        fields = {"key": key, "x-amz-checksum-sha256": sha256_b64(sha256_hex), "size": str(size)}
        return PresignedPost(url="memory://bucket/", fields=fields, expires_at=int(time.time()) + ttl)

    def presign_get(self, key: str, *, ttl: int, filename: str) -> str:
        return f"memory://bucket/{quote(key)}?ttl={ttl}"

    def read(self, key: str) -> bytes:
        return self.objects[key]

    def write(self, key: str, body: bytes, *, content_type: str) -> None:
        self.objects[key] = body

    def copy(self, source: str, target: str) -> None:
        if source not in self.objects:
            raise _gone(source)
        self.objects[target] = self.objects[source]
        self.checksums[target] = base64.b64encode(hashlib.sha256(self.objects[source]).digest()).decode()

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))
