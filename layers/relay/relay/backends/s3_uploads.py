"""Streamed uploads to the Relay bucket: a file object goes up in parts, never whole in memory.

boto3's managed transfer switches to a multipart upload past 8 MiB, so an output file spooled
to disk uploads in bounded memory. It wraps S3's error in S3UploadFailedError; the ClientError
underneath is mapped by code (`aws_control`) like every other S3 call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import IO, Any

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.backends.aws_control import raise_control_error
from relay.backends.s3 import PresignedPost, sha256_b64
from relay.errors import ServiceUnavailableError

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_EXISTS = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})


@dataclass(frozen=True)
class StoredObject:
    size: int
    sha256_b64: str | None
    metadata: dict[str, str]  # x-amz-meta-* without the prefix


class S3Uploads:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def upload(self, key: str, body: IO[bytes], *, content_type: str) -> None:
        try:
            self._client.upload_fileobj(body, self._bucket, key, ExtraArgs={"ContentType": content_type})
        except S3UploadFailedError as exc:
            cause = exc.__context__
            if isinstance(cause, (ClientError, BotoCoreError)):
                raise_control_error(cause, "PutObject")
            raise ServiceUnavailableError("The bucket refused the upload; try again", retry_after=1) from exc
        except (ClientError, BotoCoreError) as exc:
            raise_control_error(exc, "PutObject")

    def create(self, key: str, body: bytes, *, content_type: str) -> bool:
        """Write `key` only if it does not exist yet (If-None-Match: *); False when it already did."""
        try:
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*"
            )
        except ClientError as exc:
            # 412: it exists; 409: a concurrent conditional write of the same key is under way.
            if error_code(exc) in _EXISTS:
                return False
            raise_control_error(exc, "PutObject")
        except BotoCoreError as exc:
            raise_control_error(exc, "PutObject")
        return True

    def presign_post(
        self, key: str, *, size: int, sha256_hex: str, metadata: dict[str, str], ttl: int
    ) -> PresignedPost:
        """An S3 POST that accepts exactly this size, SHA-256 and metadata, and nothing else."""
        checksum = sha256_b64(sha256_hex)
        fields = {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": checksum}
        fields.update({f"x-amz-meta-{name}": value for name, value in metadata.items()})
        conditions: list[Any] = [["content-length-range", size, size]]
        conditions += [{name: value} for name, value in fields.items()]
        try:
            post = self._client.generate_presigned_post(
                Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=ttl
            )
        except (ClientError, BotoCoreError) as exc:
            raise_control_error(exc, "PresignPost")
        return PresignedPost(url=post["url"], fields=dict(post["fields"]), expires_at=int(time.time()) + ttl)

    def describe(self, key: str) -> StoredObject | None:
        """Size, checksum and metadata of an object, or None when there is none."""
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return None
            raise_control_error(exc, "HeadObject")
        except BotoCoreError as exc:
            raise_control_error(exc, "HeadObject")
        return StoredObject(
            int(head["ContentLength"]), head.get("ChecksumSHA256"), dict(head.get("Metadata", {}))
        )

    def presign_get(self, key: str, *, ttl: int) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=ttl
        )
        return url


class InMemoryUploads:
    """Uploads into an `InMemoryObjectStore`'s dict."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.metadata: dict[str, dict[str, str]] = {}

    def upload(self, key: str, body: IO[bytes], *, content_type: str) -> None:
        self.objects[key] = body.read()

    def presign_post(
        self, key: str, *, size: int, sha256_hex: str, metadata: dict[str, str], ttl: int
    ) -> PresignedPost:
        self.metadata[key] = dict(metadata)
        fields = {"key": key, "x-amz-checksum-sha256": sha256_b64(sha256_hex), "size": str(size)}
        return PresignedPost(url="memory://bucket/", fields=fields, expires_at=int(time.time()) + ttl)

    def describe(self, key: str) -> StoredObject | None:
        body = self.objects.get(key)
        if body is None:
            return None
        import hashlib

        digest = sha256_b64(hashlib.sha256(body).hexdigest())
        return StoredObject(len(body), digest, self.metadata.get(key, {}))

    def presign_get(self, key: str, *, ttl: int) -> str:
        return f"memory://bucket/{key}?ttl={ttl}"

    def create(self, key: str, body: bytes, *, content_type: str) -> bool:
        if key in self.objects:
            return False
        self.objects[key] = body
        return True
