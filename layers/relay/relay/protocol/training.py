"""Training-job requests and responses of the control-plane spec (`/v1/projects/{id}/training-jobs[...]`).

Field-level rules live here so a bad value answers 400 naming the field; rules that need the
catalogue or the table (base model, datasets, checkpoints) live in the training service.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from relay.evaluation import TESTING_FUNCTIONS
from relay.protocol.base import WireModel

TaskType = Literal["text-generation", "classification", "embedding", "regression"]
BaseModelOption = Literal["pre-trained", "fine-tuned"]
TrainingTechnique = Literal["SFT", "GRPO"]
TrainingStatus = Literal["Pending", "Running", "Testing", "Success", "Failed", "TimedOut", "Cancelled"]


def _known_functions(names: list[str], field: str) -> list[str]:
    for index, name in enumerate(names):
        if name not in TESTING_FUNCTIONS:
            raise ValueError(
                f"{field}[{index}]: unknown testing function '{name}'; GET /v1/testing-functions lists them"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"{field} lists a testing function twice")
    return names


class CreateTrainingJobRequest(WireModel):
    """The SFT request body; the GRPO body adds `reward`."""

    # Unknown fields are refused with a 400 naming them, never silently ignored.
    model_config = ConfigDict(extra="forbid")

    base_model_option: BaseModelOption = "pre-trained"
    base_model: str = Field(min_length=1, max_length=256)
    checkpoint: int | None = Field(default=None, ge=0)
    train_dataset_id: str = Field(min_length=1, max_length=64)
    test_dataset_id: str | None = Field(default=None, min_length=1, max_length=64)
    # Percent of the training dataset held out for testing (the spec's example is 20).
    train_test_split_ratio: float | None = Field(default=None, gt=0, lt=100)
    test_functions: list[str] = Field(default_factory=list, max_length=len(TESTING_FUNCTIONS))
    name: str | None = Field(default=None, min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=1024)
    task_type: TaskType = "text-generation"
    parameters: dict[str, Any] = Field(default_factory=dict)
    rebalance_data: dict[str, float] | None = None
    hf_model_link: str | None = None

    @field_validator("test_functions")
    @classmethod
    def _test_functions(cls, value: list[str]) -> list[str]:
        return _known_functions(value, "test_functions")

    @field_validator("rebalance_data")
    @classmethod
    def _rebalance(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must name at least one label")
        for label, amount in value.items():
            if not math.isfinite(amount) or amount < 0:
                raise ValueError(f"'{label}' must be a non-negative number")
        return value

    @field_validator("hf_model_link")
    @classmethod
    def _no_hub(cls, value: str | None) -> str | None:
        # Training instances never download from a model hub (weights are staged in S3), so a
        # link would be silently ignored; refuse it instead.
        if value:
            raise ValueError("is not supported: base models come from the catalogue (GET /v1/models)")
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> CreateTrainingJobRequest:
        if self.base_model_option == "fine-tuned" and self.checkpoint is None:
            raise ValueError("checkpoint is required when base_model_option is 'fine-tuned'")
        if self.base_model_option == "pre-trained" and self.checkpoint is not None:
            raise ValueError("checkpoint is only used when base_model_option is 'fine-tuned'")
        if self.test_dataset_id and self.train_test_split_ratio is not None:
            raise ValueError("give test_dataset_id or train_test_split_ratio, not both")
        if self.rebalance_data is not None and self.task_type != "classification":
            raise ValueError("rebalance_data is only supported for the classification task type")
        return self


class CreateGRPOTrainingJobRequest(CreateTrainingJobRequest):
    test_functions: list[str] = Field(min_length=1, max_length=len(TESTING_FUNCTIONS))
    reward: dict[str, float] = Field(min_length=1)

    @field_validator("reward")
    @classmethod
    def _reward(cls, value: dict[str, float]) -> dict[str, float]:
        _known_functions(list(value), "reward")
        for name, weight in value.items():
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"weight of '{name}' must be a non-negative number")
        if not any(weight > 0 for weight in value.values()):
            raise ValueError("needs at least one positive weight")
        return value

    @model_validator(mode="after")
    def _grpo(self) -> CreateGRPOTrainingJobRequest:
        if self.task_type != "text-generation":
            raise ValueError("GRPO trains text-generation models only")
        return self


# --- responses, in the spec's field order; Relay's own fields in a commented block ---


class TrainingJobSummary(WireModel):
    id: str
    name: str
    training_technique: TrainingTechnique
    task_type: TaskType
    base_model_option: BaseModelOption
    base_model: str
    base_fine_tuned_model: str | None = None
    base_fine_tuned_model_checkpoint: int | None = None
    train_dataset_name: str | None = None
    test_functions: list[str] = []
    reward: dict[str, float] | None = None
    status: TrainingStatus
    progress: int = 0
    created_by: str
    created_at: int
    updated_at: int


class TrainingLossPoint(WireModel):
    timestamp: float
    loss: float


class TrainingDataset(WireModel):
    """The spec's DatasetSummary of a job's train or test dataset."""

    id: str
    name: str
    created_at: int
    is_uploaded: bool


class TrainingJobDetail(WireModel):
    id: str
    name: str
    training_technique: TrainingTechnique
    task_type: TaskType
    base_model_option: BaseModelOption
    base_model: str
    base_fine_tuned_model: str | None = None
    base_fine_tuned_model_checkpoint: int | None = None
    test_functions: list[str] = []
    reward: dict[str, float] | None = None
    status: TrainingStatus
    progress: int = 0
    created_by: str
    created_at: int
    updated_at: int
    train_dataset: TrainingDataset | None = None
    test_dataset: TrainingDataset | None = None
    training_loss: list[TrainingLossPoint] = []
    hyper_parameters: dict[str, Any] = {}
    # Relay's own fields.
    description: str | None = None
    failure_reason: str | None = None


class CheckpointTestResults(WireModel):
    general_test_result: str | None = None
    aggregated_test_result: dict[str, str] = {}


class TrainingJobCheckpoint(WireModel):
    checkpoint: int
    model_download_url: str | None = Field(
        description="A presigned HTTPS link to the weights file (None when the folder holds none)"
    )
    test_results: CheckpointTestResults | None = None
    created_at: int
    updated_at: int | None = None
    # Relay's own field: a checkpoint is a folder, so every file in it gets a presigned link.
    model_files: dict[str, str] = Field(default_factory=dict)
