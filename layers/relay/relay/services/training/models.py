"""Training jobs and their checkpoints as typed records (the stored attributes use these names).

The field names are the control-plane spec's, so the DynamoDB item, the project detail and the
wire models line up; `from_values` reads an item back and ignores the table's key attributes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from relay.protocol.training import BaseModelOption, TaskType, TrainingTechnique
from relay.services.training.status import PENDING, TrainingStatus, as_status


@dataclass(frozen=True)
class LossPoint:
    timestamp: float
    loss: float
    # The optimiser step of the metric line (None on points recorded before steps were kept).
    # Not part of equality: a point is its time and loss; the step only labels it.
    step: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class StatusChange:
    status: TrainingStatus
    at: int
    reason: str | None = None


@dataclass(frozen=True)
class TrainingJob:
    id: str
    project_id: str
    name: str
    created_at: int
    updated_at: int
    status: TrainingStatus = PENDING
    training_technique: TrainingTechnique = "SFT"
    task_type: TaskType = "text-generation"
    base_model_option: BaseModelOption = "pre-trained"
    base_model: str = ""
    description: str | None = None
    # A `fine-tuned` job continues from this finished job's checkpoint.
    base_fine_tuned_model: str | None = None
    base_fine_tuned_model_checkpoint: int | None = None
    train_dataset_id: str | None = None
    train_dataset_name: str | None = None
    test_dataset_id: str | None = None
    test_dataset_name: str | None = None
    test_functions: list[str] = field(default_factory=list)
    reward: dict[str, float] | None = None
    hyper_parameters: dict[str, Any] = field(default_factory=dict)
    progress: int = 0
    training_loss: list[LossPoint] = field(default_factory=list)
    status_history: list[StatusChange] = field(default_factory=list)
    created_by: str = ""
    execution_arn: str | None = None
    failure_reason: str | None = None

    @property
    def dataset_ids(self) -> list[str]:
        return [d for d in (self.train_dataset_id, self.test_dataset_id) if d]

    def to_values(self) -> dict[str, Any]:
        """Plain values for storage (None fields are left out by the adapter)."""
        return asdict(self)

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> TrainingJob:
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        kept["status"] = as_status(kept.get("status", PENDING))
        # Whole numbers come back from DynamoDB as int; the series is floats, as the spec shows it.
        kept["training_loss"] = [
            LossPoint(
                float(p["timestamp"]), float(p["loss"]), int(p["step"]) if p.get("step") is not None else None
            )
            for p in kept.get("training_loss") or []
        ]
        kept["status_history"] = [
            StatusChange(as_status(e["status"]), int(e["at"]), e.get("reason"))
            for e in kept.get("status_history") or []
        ]
        kept["test_functions"] = list(kept.get("test_functions") or [])
        kept["hyper_parameters"] = dict(kept.get("hyper_parameters") or {})
        if kept.get("reward") is not None:
            kept["reward"] = {str(k): float(v) for k, v in kept["reward"].items()}
        return cls(**kept)


@dataclass(frozen=True)
class CheckpointTestResults:
    general_test_result: str | None = None
    aggregated_test_result: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Checkpoint:
    checkpoint: int
    model_download_url: str
    created_at: int
    updated_at: int | None = None
    test_results: CheckpointTestResults | None = None

    def to_values(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Checkpoint:
        results = values.get("test_results")
        return cls(
            checkpoint=int(values["checkpoint"]),
            model_download_url=str(values.get("model_download_url") or ""),
            created_at=int(values.get("created_at") or 0),
            updated_at=int(values["updated_at"]) if values.get("updated_at") is not None else None,
            test_results=(
                CheckpointTestResults(
                    general_test_result=results.get("general_test_result"),
                    aggregated_test_result={
                        str(k): str(v) for k, v in (results.get("aggregated_test_result") or {}).items()
                    },
                )
                if isinstance(results, dict)
                else None
            ),
        )
