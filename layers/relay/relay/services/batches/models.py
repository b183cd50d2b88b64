"""A batch as a typed record, its id, and where its intermediate results live."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relay.services.layout import ordered_token

BATCH_PREFIX = "batch_"
COMPLETION_WINDOW_SECONDS = 24 * 3600


def new_batch_id() -> str:
    return BATCH_PREFIX + ordered_token(24)


def results_prefix(owner: str, batch_id: str) -> str:
    """One small object per answered line, gathered into the output files when the batch ends."""
    return f"batches/{owner}/{batch_id}/results/"


@dataclass(frozen=True)
class BatchRecord:
    id: str
    owner: str
    endpoint: str
    input_file_id: str
    created_at: int
    expires_at: int
    status: str = "validating"
    completion_window: str = "24h"
    metadata: dict[str, str] | None = None
    stamps: dict[str, int] = field(default_factory=dict)  # in_progress_at, completed_at, ...
    total: int = 0
    completed: int = 0
    failed: int = 0
    skipped: int = 0  # queued lines dropped because the batch stopped (cancelled, expired)
    sent: int = 0
    cursor: int = 0  # byte offset in the input file of the next line to send
    inflight: dict[str, int] = field(default_factory=dict)  # model -> lines sent, not yet answered
    errors: list[dict[str, Any]] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def answered(self) -> int:
        return self.completed + self.failed + self.skipped

    @property
    def drained(self) -> bool:
        """Every line sent so far has been answered (or dropped)."""
        return self.answered >= self.sent
