"""Streamed uploads to the Relay bucket: a file object goes up in parts, never whole in memory.

boto3's managed transfer switches to a multipart upload past 8 MiB, so an output file spooled
to disk uploads in bounded memory. It wraps S3's error in S3UploadFailedError; the ClientError
underneath is mapped by code (`aws_control`) like every other S3 call.
"""

from __future__ import annotations

from typing import IO, Any

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws_control import raise_control_error
from relay.errors import ServiceUnavailableError


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


class InMemoryUploads:
    """Uploads into an `InMemoryObjectStore`'s dict."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def upload(self, key: str, body: IO[bytes], *, content_type: str) -> None:
        self.objects[key] = body.read()
