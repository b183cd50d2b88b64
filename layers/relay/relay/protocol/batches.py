"""OpenAI's Batch API objects (`/v1/batches`), in openai-python's field order."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from relay.errors import BadRequestError
from relay.protocol.base import WireModel

BatchStatus = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"
]
MAX_METADATA_PAIRS = 16


class CreateBatchRequest(WireModel):
    # Unknown fields are refused: a batch option we do not honour must not pass silently.
    model_config = ConfigDict(extra="forbid")

    completion_window: Literal["24h"]
    endpoint: str
    input_file_id: str
    metadata: dict[str, str] | None = None

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if len(value) > MAX_METADATA_PAIRS:
            raise BadRequestError(f"metadata holds at most {MAX_METADATA_PAIRS} pairs", param="metadata")
        for key, item in value.items():
            if len(key) > 64 or len(item) > 512:
                raise BadRequestError(
                    "metadata keys are at most 64 characters and values at most 512", param="metadata"
                )
        return value


class BatchError(WireModel):
    code: str | None = None
    line: int | None = None
    message: str | None = None
    param: str | None = None


class BatchErrors(WireModel):
    data: list[BatchError] = Field(default_factory=list)
    object: Literal["list"] = "list"


class BatchRequestCounts(WireModel):
    completed: int = 0
    failed: int = 0
    total: int = 0


class InputTokensDetails(WireModel):
    cached_tokens: int = 0


class OutputTokensDetails(WireModel):
    reasoning_tokens: int = 0


class BatchUsage(WireModel):
    input_tokens: int = 0
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int = 0
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)
    total_tokens: int = 0


class Batch(WireModel):
    id: str
    completion_window: str
    created_at: int
    endpoint: str
    input_file_id: str
    object: Literal["batch"] = "batch"
    status: BatchStatus
    cancelled_at: int | None = None
    cancelling_at: int | None = None
    completed_at: int | None = None
    error_file_id: str | None = None
    errors: BatchErrors | None = None
    expired_at: int | None = None
    expires_at: int | None = None
    failed_at: int | None = None
    finalizing_at: int | None = None
    in_progress_at: int | None = None
    metadata: dict[str, str] | None = None
    output_file_id: str | None = None
    request_counts: BatchRequestCounts = Field(default_factory=BatchRequestCounts)
    usage: BatchUsage | None = None


class BatchList(WireModel):
    object: Literal["list"] = "list"
    data: list[Batch]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
