"""A stored file as a typed record, its id and where its bytes live."""

from __future__ import annotations

from dataclasses import dataclass

from relay.services.layout import ordered_token

FILE_PREFIX = "file-"
FILES_S3_PREFIX = "files/"


def new_file_id() -> str:
    return FILE_PREFIX + ordered_token(24)


def is_file_id(value: str) -> bool:
    body = value[len(FILE_PREFIX) :]
    return value.startswith(FILE_PREFIX) and len(body) == 24 and all(c in "0123456789abcdef" for c in body)


def object_key(owner: str, file_id: str) -> str:
    """`files/<owner>/<id>`: a key's files share a prefix, so IAM or a lifecycle rule can name them."""
    return f"{FILES_S3_PREFIX}{owner}/{file_id}"


@dataclass(frozen=True)
class StoredFile:
    id: str
    owner: str  # the key id of the principal that created it
    filename: str
    purpose: str
    bytes: int
    created_at: int
    expires_at: int | None = None
    sha256: str | None = None

    @property
    def key(self) -> str:
        return object_key(self.owner, self.id)

    def expired(self, now: int) -> bool:
        # DynamoDB's TTL deletes within days, not on the second: an expired record is gone to readers now.
        return self.expires_at is not None and self.expires_at <= now
