"""Datasets as typed records, and the rejection a refused upload keeps."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from relay.services.datasets.status import PENDING, DatasetState, as_state
from relay.services.datasets.validation import DatasetFormat


@dataclass(frozen=True)
class DatasetRejection:
    """Why the worker refused an upload: what `complete` answered with a 400 for a small one."""

    code: str  # checksum_mismatch, invalid_dataset or upload_incomplete
    message: str
    problem_lines: int = 0
    lines: tuple[tuple[int, str], ...] = ()  # (line, message) of the first problems

    def to_values(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "problem_lines": self.problem_lines,
            "lines": [{"line": line, "message": message} for line, message in self.lines],
        }

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> DatasetRejection:
        return cls(
            code=str(values.get("code") or "invalid_dataset"),
            message=str(values.get("message") or "The dataset was refused; upload it again"),
            problem_lines=int(values.get("problem_lines") or 0),
            lines=tuple((int(e["line"]), str(e["message"])) for e in values.get("lines") or []),
        )


@dataclass(frozen=True)
class Dataset:
    id: str
    project_id: str
    name: str
    filename: str
    object_key: str
    created_at: int
    updated_at: int
    upload_by: str
    state: DatasetState = PENDING
    sha256: str = ""  # hex; declared by the client until verified
    size: int = 0
    format: DatasetFormat | None = None  # set once verified
    num_rows: int | None = None
    uploaded_at: int | None = None
    # Pending, verifying and invalid records: DynamoDB's TTL removes abandoned or refused ones.
    expires_at: int | None = None
    # Invalid records: why the worker refused the object.
    error: DatasetRejection | None = None

    @property
    def is_uploaded(self) -> bool:
        return self.uploaded_at is not None

    def to_values(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["error"] = self.error.to_values() if self.error else None
        return values

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Dataset:
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        kept["state"] = as_state(kept.get("state", PENDING))
        # A record settled before its format was known stores "" (DynamoDB has no null in a SET).
        kept["format"] = kept.get("format") or None
        if isinstance(kept.get("error"), dict):
            kept["error"] = DatasetRejection.from_values(kept["error"])
        return cls(**kept)
