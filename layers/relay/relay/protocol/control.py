"""Control-plane wire models: projects, datasets, testing functions and API keys, in the spec's field order."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from relay.protocol.base import WireModel

# The key models live in protocol.keys; re-exported for the routes and docs that import them here.
from relay.protocol.keys import ApiKeyObject as ApiKeyObject
from relay.protocol.keys import CreatedApiKey as CreatedApiKey
from relay.protocol.keys import CreateKeyRequest as CreateKeyRequest
from relay.protocol.training import TrainingJobSummary


class CreateProjectRequest(WireModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None


class ProjectSummary(WireModel):
    id: str
    name: str
    # Relay's own fields.
    created_at: int
    updated_at: int


class DatasetSummary(WireModel):
    id: str
    name: str
    created_at: int
    is_uploaded: bool


class ProjectDeployment(WireModel):
    """The spec's DeploymentSummary, as the project detail lists it (unset fields left out)."""

    id: str
    name: str | None = None
    status: str | None = None
    created_at: int | None = None


class ProjectDetail(WireModel):
    """Served with `exclude_none`: a child's unset fields are left out, as stored."""

    id: str
    name: str
    datasets: list[DatasetSummary]
    training_jobs: list[TrainingJobSummary]
    deployments: list[ProjectDeployment]
    # Relay's own fields.
    created_at: int
    updated_at: int


class DatasetLineError(WireModel):
    line: int
    message: str


class DatasetRejection(WireModel):
    """Why the worker refused a large upload (the 400 a small one gets from `complete`)."""

    code: str = Field(description="checksum_mismatch, invalid_dataset or upload_incomplete")
    message: str
    problem_lines: int = Field(0, description="How many lines have problems; `lines` lists the first 20")
    lines: list[DatasetLineError] = []


class DatasetDetail(WireModel):
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


class CreateUploadRequest(WireModel):
    """Start a presigned upload: declare the file so S3 can refuse anything else."""

    model_config = ConfigDict(extra="allow")

    size: int = Field(ge=1, description="The file's size in bytes")
    sha256: str = Field(description="The file's SHA-256, 64 hex digits (as `sha256sum` prints it)")
    name: str | None = None
    filename: str | None = Field(default=None, description="Its extension selects JSONL or CSV")


class PresignedUpload(WireModel):
    method: Literal["POST"] = "POST"
    url: str
    fields: dict[str, str]
    expires_at: int


class UploadResponse(WireModel):
    id: str
    name: str
    created_at: int
    is_uploaded: bool
    upload: PresignedUpload
    complete_url: str


class TestingFunctionSummary(WireModel):
    name: str
    content: str
    dependencies: list[str]


class RotatedAdminKey(WireModel):
    object: Literal["admin_key"] = "admin_key"
    key: str  # the new admin key, returned once; the old one is refused from now on
