"""OpenAI's Files API objects (`/v1/files`), in openai-python's field order, plus Relay's presigned flow."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from relay.protocol.base import WireModel

# What a client may upload; `batch_output` and `fine-tune-results` are what Relay writes (a
# batch's output and error files, a fine-tuning job's metrics CSV).
UploadPurpose = Literal["batch", "fine-tune", "user_data"]
FilePurpose = Literal["batch", "fine-tune", "user_data", "batch_output", "fine-tune-results"]
UPLOAD_PURPOSES: tuple[str, ...] = ("batch", "fine-tune", "user_data")
# OpenAI's bounds on `expires_after.seconds`: one hour to thirty days.
MIN_EXPIRES_AFTER = 3600
MAX_EXPIRES_AFTER = 30 * 24 * 3600


class FileObject(WireModel):
    id: str
    bytes: int
    created_at: int
    filename: str
    object: Literal["file"] = "file"
    purpose: FilePurpose
    status: Literal["uploaded", "processed", "error"] = "processed"
    expires_at: int | None = None
    status_details: str | None = None


class FileList(WireModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class FileDeleted(WireModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool = True


class ExpiresAfter(WireModel):
    model_config = ConfigDict(extra="forbid")

    anchor: Literal["created_at"] = "created_at"
    seconds: int = Field(ge=MIN_EXPIRES_AFTER, le=MAX_EXPIRES_AFTER)


# --- Relay extension: files larger than a Lambda payload go straight to S3 ---


class CreateFileUploadRequest(WireModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    purpose: UploadPurpose
    bytes: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    expires_after: ExpiresAfter | None = None


class FileUploadTarget(WireModel):
    url: str
    fields: dict[str, str]
    expires_at: int


class FileUpload(WireModel):
    id: str
    object: Literal["file.upload"] = "file.upload"
    filename: str
    purpose: UploadPurpose
    bytes: int
    upload: FileUploadTarget
    complete_url: str
