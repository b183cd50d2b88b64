"""An OpenAI fine-tuning job as a small record beside the Relay training job it is, and its ids.

The record holds only what OpenAI's API has and Relay's training job does not (the file ids,
suffix, seed, metadata, the resolved OpenAI hyperparameters, a refusal before training). The
status, loss, checkpoints and timings are read from the training job, so the two faces of one
job can never disagree.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from relay.services.layout import ordered_token

JOB_PREFIX = "ftjob-"
FINE_TUNED_PREFIX = "ft:"
CHECKPOINT_MARK = "ckpt-step-"
_JOB_BODY = re.compile(r"^[0-9a-f]{16}$")
_CHECKPOINT = re.compile(rf"^{CHECKPOINT_MARK}(\d+)$")


def new_job_id() -> str:
    """Time-ordered, so jobs created in the same second still list newest first, as OpenAI's do."""
    return JOB_PREFIX + ordered_token(16)


def is_job_id(value: str) -> bool:
    return value.startswith(JOB_PREFIX) and bool(_JOB_BODY.match(value[len(JOB_PREFIX) :]))


def derived_id(prefix: str, *parts: object) -> str:
    """A stable id for something derived from a job (an event, a checkpoint, the result file)."""
    digest = hashlib.sha256("\n".join(str(p) for p in parts).encode()).hexdigest()
    return prefix + digest[:24]


@dataclass(frozen=True)
class JobError:
    code: str
    message: str
    param: str | None = None


@dataclass(frozen=True)
class FineTuningRecord:
    id: str
    owner: str  # the key id that created it: another key's job is a 404
    project_id: str  # the owner's default project, where the training job lives
    model: str  # as requested: a catalogue base model or an `ft:` model continued from
    base_model: str  # the catalogue model underneath
    created_at: int
    training_file: str
    seed: int
    hyperparameters: dict[str, Any]  # OpenAI's names, resolved to numbers
    training_job_id: str | None = None  # None when the files were refused before training
    validation_file: str | None = None
    suffix: str | None = None
    metadata: dict[str, str] | None = None
    method: str = "supervised"
    grader: dict[str, Any] | None = None  # reinforcement: the grader as the client gave it
    error: JobError | None = None  # a refusal before the training job existed
    finished_at: int | None = None  # set with `error`
    result_file: str | None = None  # the fine-tune-results file, written once it succeeded

    @property
    def fine_tuned_model(self) -> str:
        """`ft:<base>:<owner>:<suffix>:<id>`, OpenAI's shape; the suffix may be empty."""
        return f"{FINE_TUNED_PREFIX}{self.base_model}:{self.owner}:{self.suffix or ''}:{self.short_id}"

    @property
    def short_id(self) -> str:
        return self.id[len(JOB_PREFIX) :]

    def checkpoint_model(self, step: int) -> str:
        return f"{self.fine_tuned_model}:{CHECKPOINT_MARK}{step}"

    def to_values(self) -> dict[str, Any]:
        values = asdict(self)
        values["error"] = asdict(self.error) if self.error else None
        return values

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> FineTuningRecord:
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        if isinstance(kept.get("error"), dict):
            kept["error"] = JobError(**kept["error"])
        kept["hyperparameters"] = dict(kept.get("hyperparameters") or {})
        kept["seed"] = int(kept["seed"])
        return cls(**kept)


@dataclass(frozen=True)
class FineTunedRef:
    """What an `ft:` model id names: a job of an owner, and optionally one of its checkpoints."""

    owner: str
    job_id: str
    step: int | None = None


def parse_fine_tuned(model_id: str) -> FineTunedRef | None:
    """The job an `ft:` id names, read from the right (a base model name could hold ':')."""
    if not model_id.startswith(FINE_TUNED_PREFIX):
        return None
    parts = model_id[len(FINE_TUNED_PREFIX) :].split(":")
    step = None
    if parts and (match := _CHECKPOINT.match(parts[-1])):
        step = int(match.group(1))
        parts = parts[:-1]
    if len(parts) < 4 or not parts[0] or not parts[-3]:
        return None
    job_id = JOB_PREFIX + parts[-1]
    return FineTunedRef(owner=parts[-3], job_id=job_id, step=step) if is_job_id(job_id) else None
