"""OpenAI's fine-tuning objects (`/v1/fine_tuning/jobs[...]`), in openai-python's field order.

Field shapes are checked here (a bad value answers 400 naming the OpenAI `param`); what needs
the catalogue, the Files API or the training pipeline is checked by the fine-tuning service.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from relay.protocol.base import WireModel
from relay.protocol.batches import MAX_METADATA_PAIRS

FineTuningStatus = Literal["validating_files", "queued", "running", "succeeded", "failed", "cancelled"]
MethodType = Literal["supervised", "dpo", "reinforcement"]
# `ft:<base>:<owner>:<suffix>:<id>` is split on ":", so a suffix may not hold one (nor spaces).
SUFFIX_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_SEED = 2_147_483_647
Auto = Literal["auto"]


class Hyperparameters(WireModel):
    """Each value `"auto"` (the catalogue's default) or a number; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    batch_size: Auto | int | None = Field(default=None)
    learning_rate_multiplier: Auto | float | None = Field(default=None)
    n_epochs: Auto | int | None = Field(default=None)

    @field_validator("batch_size", "n_epochs")
    @classmethod
    def _positive_int(cls, value: Auto | int | None) -> Auto | int | None:
        if isinstance(value, int) and value < 1:
            raise ValueError("must be 'auto' or a whole number of at least 1")
        return value

    @field_validator("learning_rate_multiplier")
    @classmethod
    def _positive_float(cls, value: Auto | float | None) -> Auto | float | None:
        if isinstance(value, float) and not value > 0:
            raise ValueError("must be 'auto' or a number above 0")
        return value


class SupervisedMethod(WireModel):
    model_config = ConfigDict(extra="forbid")

    hyperparameters: Hyperparameters | None = None


class ReinforcementHyperparameters(Hyperparameters):
    """GRPO takes epochs, batch size and learning rate; OpenAI's sampling knobs have no equivalent."""

    compute_multiplier: Auto | float | None = None
    eval_interval: Auto | int | None = None
    eval_samples: Auto | int | None = None
    reasoning_effort: Literal["default", "low", "medium", "high"] | None = None

    @field_validator("compute_multiplier", "eval_interval", "eval_samples")
    @classmethod
    def _auto_only(cls, value: Any) -> Any:
        if value not in (None, "auto"):
            raise ValueError("cannot be honoured: Relay's GRPO runs one evaluation, on the held-out split")
        return value

    @field_validator("reasoning_effort")
    @classmethod
    def _default_effort(cls, value: str | None) -> str | None:
        if value not in (None, "default"):
            raise ValueError("cannot be honoured: the catalogue's models have no reasoning effort")
        return value


class ReinforcementMethod(WireModel):
    model_config = ConfigDict(extra="forbid")

    # Read by the service (`services/fine_tuning/graders.py`), which names what it cannot map.
    grader: dict[str, Any]
    hyperparameters: ReinforcementHyperparameters | None = None


class Method(WireModel):
    # `dpo` is read by the service only to refuse it by name.
    model_config = ConfigDict(extra="forbid")

    type: MethodType
    supervised: SupervisedMethod | None = None
    dpo: dict[str, Any] | None = None
    reinforcement: ReinforcementMethod | None = None


class CreateFineTuningJobRequest(WireModel):
    # Unknown fields are refused with a 400 naming them: a training option must not pass silently.
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=256)
    training_file: str = Field(min_length=1, max_length=64)
    hyperparameters: Hyperparameters | None = None  # deprecated by OpenAI in favour of `method`
    integrations: list[dict[str, Any]] | None = None
    metadata: dict[str, str] | None = None
    method: Method | None = None
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    suffix: str | None = None
    validation_file: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("suffix")
    @classmethod
    def _suffix(cls, value: str | None) -> str | None:
        if value is not None and not SUFFIX_PATTERN.match(value):
            raise ValueError("must be 1 to 64 letters, digits, '.', '_' or '-'")
        return value

    @field_validator("integrations")
    @classmethod
    def _integrations(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        # Relay reports to no third-party tracker; the events and result file carry the metrics.
        if value:
            raise ValueError("are not supported: read the metrics from the job's events and result file")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        # OpenAI's limits, as on batches: 16 pairs, keys up to 64 characters, values up to 512.
        if value is not None and (
            len(value) > MAX_METADATA_PAIRS or any(len(k) > 64 or len(v) > 512 for k, v in value.items())
        ):
            raise ValueError(
                f"holds at most {MAX_METADATA_PAIRS} pairs of keys up to 64 and values up to 512"
            )
        return value

    @model_validator(mode="after")
    def _one_hyperparameter_source(self) -> CreateFineTuningJobRequest:
        if self.hyperparameters is not None and self.method is not None:
            raise ValueError(
                "give hyperparameters inside method, or the deprecated top-level field, not both"
            )
        return self


class FineTuningError(WireModel):
    code: str
    message: str
    param: str | None = None


class ResolvedHyperparameters(WireModel):
    batch_size: Auto | int = "auto"
    learning_rate_multiplier: Auto | float = "auto"
    n_epochs: Auto | int = "auto"


class ResolvedSupervised(WireModel):
    hyperparameters: ResolvedHyperparameters


class ResolvedReinforcement(WireModel):
    grader: dict[str, Any]
    hyperparameters: ResolvedHyperparameters


class ResolvedMethod(WireModel):
    type: MethodType
    supervised: ResolvedSupervised | None = None
    reinforcement: ResolvedReinforcement | None = None


class FineTuningJob(WireModel):
    id: str
    created_at: int
    error: FineTuningError | None = None
    fine_tuned_model: str | None = None
    finished_at: int | None = None
    hyperparameters: ResolvedHyperparameters
    model: str
    object: Literal["fine_tuning.job"] = "fine_tuning.job"
    organization_id: str
    result_files: list[str] = []
    seed: int
    status: FineTuningStatus
    trained_tokens: int | None = None
    training_file: str
    validation_file: str | None = None
    estimated_finish: int | None = None
    integrations: list[dict[str, Any]] | None = None
    metadata: dict[str, str] | None = None
    method: ResolvedMethod | None = None
    # Relay's own fields: the same job through the control plane, and what to deploy.
    project_id: str | None = None
    training_job_id: str | None = None


class FineTuningJobList(WireModel):
    object: Literal["list"] = "list"
    data: list[FineTuningJob]
    has_more: bool = False


class FineTuningJobEvent(WireModel):
    id: str
    created_at: int
    level: Literal["info", "warn", "error"]
    message: str
    object: Literal["fine_tuning.job.event"] = "fine_tuning.job.event"
    data: dict[str, Any] | None = None
    type: Literal["message", "metrics"] = "message"


class FineTuningJobEventList(WireModel):
    object: Literal["list"] = "list"
    data: list[FineTuningJobEvent]
    has_more: bool = False


class CheckpointMetrics(WireModel):
    step: float | None = None
    train_loss: float | None = None
    valid_loss: float | None = None


class FineTuningJobCheckpoint(WireModel):
    id: str
    created_at: int
    fine_tuned_model_checkpoint: str
    fine_tuning_job_id: str
    metrics: CheckpointMetrics
    object: Literal["fine_tuning.job.checkpoint"] = "fine_tuning.job.checkpoint"
    step_number: int


class FineTuningJobCheckpointList(WireModel):
    object: Literal["list"] = "list"
    data: list[FineTuningJobCheckpoint]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
