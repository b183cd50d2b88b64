"""Control-plane wire models: projects, datasets and testing functions, in the spec's field order."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CreateProjectRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None


class ProjectSummary(BaseModel):
    id: str
    name: str
    # Relay's own fields.
    created_at: int
    updated_at: int


class DatasetSummary(BaseModel):
    id: str
    name: str
    created_at: int
    is_uploaded: bool


class ProjectDetail(BaseModel):
    id: str
    name: str
    datasets: list[DatasetSummary]
    training_jobs: list[dict[str, Any]]
    deployments: list[dict[str, Any]]
    # Relay's own fields.
    created_at: int
    updated_at: int


class DatasetLineError(BaseModel):
    line: int
    message: str


class DatasetRejection(BaseModel):
    """Why the worker refused a large upload (the 400 a small one gets from `complete`)."""

    code: str = Field(description="checksum_mismatch, invalid_dataset or upload_incomplete")
    message: str
    problem_lines: int = Field(0, description="How many lines have problems; `lines` lists the first 20")
    lines: list[DatasetLineError] = []


class DatasetDetail(BaseModel):
    id: str
    name: str
    is_uploaded: bool
    dataset_download_url: str | None = None  # left out until the object is verified
    upload_by: str
    created_at: int
    updated_at: int
    # Relay's own fields.
    filename: str
    size: int
    sha256: str
    format: str | None = None
    num_rows: int | None = None
    status: Literal["pending", "verifying", "uploaded", "invalid", "deleting"] = Field(
        description=(
            "pending: waiting for the presigned upload and `complete`; verifying: `complete` answered "
            "202 and the worker is checking the file; uploaded; invalid: refused, see `error` (the "
            "record is removed a day later); deleting"
        )
    )
    error: DatasetRejection | None = None


class CreateUploadRequest(BaseModel):
    """Start a presigned upload: declare the file so S3 can refuse anything else."""

    model_config = ConfigDict(extra="allow")

    size: int = Field(ge=1, description="The file's size in bytes")
    sha256: str = Field(description="The file's SHA-256, 64 hex digits (as `sha256sum` prints it)")
    name: str | None = None
    filename: str | None = Field(default=None, description="Its extension selects JSONL or CSV")


class PresignedUpload(BaseModel):
    method: Literal["POST"] = "POST"
    url: str
    fields: dict[str, str]
    expires_at: int


class UploadResponse(BaseModel):
    id: str
    name: str
    created_at: int
    is_uploaded: bool
    upload: PresignedUpload
    complete_url: str


class TestingFunctionSummary(BaseModel):
    name: str
    content: str
    dependencies: list[str]
