"""Engine and deployment records, the SageMaker names derived from them, and the ports they use.

Key layout (the table's conventions, `services/control/layout.py`):

| Item       | pk                   | sk                   | gsi1pk               | gsi1sk                          |
|------------|----------------------|----------------------|----------------------|---------------------------------|
| Deployment | `PROJECT#<ms-id>`    | `DEPLOYMENT#<dp-id>` | `ENGINE#<engine-id>` | `DEPLOYMENT#<dp-id>`            |
| Engine     | `ENGINE#<engine-id>` | `ENGINE`             | `ENGINES`            | `<created_at:010d>#<engine-id>` |

A deployment lives in its project's partition (the project detail and delete see it), and
the index finds an engine's deployments; engines are listed through the index as projects are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from relay.errors import RelayError

EngineState = Literal["active", "deleting"]
ManagementType = Literal["inactive_timeout", "schedule"]
SERVER_TYPE = "on-demand"
# SageMaker's one production variant per engine endpoint.
VARIANT_NAME = "AllTraffic"

# Task type -> (registry container flavour, model type in /v1/models).
SERVING: dict[str, tuple[str, str]] = {
    "text-generation": ("openai", "chat"),
    "classification": ("classifier", "classification"),
    "regression": ("classifier", "classification"),
    "embedding": ("tei-embedding", "embeddings"),
}


@dataclass(frozen=True)
class Schedule:
    """A validated weekly window (`schedules.parse_schedule` builds it)."""

    timezone: str
    start_time: str  # HH:MM
    end_time: str  # HH:MM
    days: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "days": list(self.days),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> Schedule | None:
        if not values:
            return None
        return cls(values["timezone"], values["start_time"], values["end_time"], tuple(values["days"]))


@dataclass(frozen=True)
class Deployment:
    id: str
    project_id: str
    name: str
    engine_id: str
    status: str
    base_model: str
    task_type: str
    checkpoint: int
    created_at: int
    updated_at: int
    inactive_timeout: int
    training_id: str | None = None
    description: str | None = None
    schedule: Schedule | None = None
    # The checkpoint's S3 prefix; None deploys the base model from the catalogue's image.
    model_data_url: str | None = None
    adapter: bool = False
    labels: tuple[str, ...] = ()
    failure_reason: str | None = None
    # When it last became Deployed: idle time is counted from here when no invocation is seen.
    deployed_at: int | None = None
    # How many reactivations were started: the n of execution `<id>-reactivate-<n>`.
    reactivations: int = 0
    # The base component an adapter component sits on (another deployment of the engine).
    base_component: str | None = None

    @property
    def flavour(self) -> str:
        return SERVING[self.task_type][0]

    @property
    def model_type(self) -> str:
        return SERVING[self.task_type][1]


@dataclass(frozen=True)
class Engine:
    id: str
    name: str
    base_model: str
    task_type: str
    instance_type: str
    created_at: int
    updated_at: int
    management_type: ManagementType = "inactive_timeout"
    inactive_timeout: int = 3600
    schedule: Schedule | None = None
    last_access_timestamp: int | None = None
    state: EngineState = "active"
    # The key that created it (directly or by a deployment); other keys do not see it.
    owner: str | None = None


class NotConfiguredError(RelayError):
    """A setting this operation needs is missing from the function's environment."""

    status = 503
    type = "api_error"
    code = "not_configured"


@dataclass(frozen=True)
class SageMakerNames:
    """Every SageMaker and Scheduler name starts with the stack's prefix (IAM is scoped to it)."""

    prefix: str

    def __post_init__(self) -> None:
        if not self.prefix:
            raise NotConfiguredError("Deployments are not configured here: RESOURCE_PREFIX is not set")

    def endpoint(self, engine_id: str) -> str:
        return f"{self.prefix}-{engine_id}"

    def endpoint_config(self, engine_id: str) -> str:
        return f"{self.prefix}-{engine_id}"

    def model(self, deployment_id: str) -> str:
        return f"{self.prefix}-{deployment_id}"

    def component(self, deployment_id: str) -> str:
        return f"{self.prefix}-{deployment_id}"

    def schedule(self, owner_id: str, state: Literal["start", "stop"]) -> str:
        return f"{self.prefix}-{owner_id}-{state}"


@dataclass(frozen=True)
class TrainedCheckpoint:
    number: int
    model_data_url: str  # s3://bucket/prefix/ of the checkpoint folder


@dataclass(frozen=True)
class TrainingJobView:
    """What a deployment needs of a training job."""

    id: str
    status: str
    base_model: str
    task_type: str
    checkpoints: tuple[TrainedCheckpoint, ...] = ()


@dataclass(frozen=True)
class CheckpointFacts:
    """What the trainer wrote beside a checkpoint: LoRA adapter or merged weights, and labels."""

    adapter: bool
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegistryEntry:
    """The model-registry item that makes a deployment's name a model id."""

    name: str
    endpoint_name: str
    inference_component: str
    flavour: str
    type: str
    deployment_id: str
    status: str
    created_at: int
    labels: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


class CheckpointSource(Protocol):
    def training_job(self, project_id: str, job_id: str) -> TrainingJobView | None:
        """The job with its registered checkpoints, or None when the project has no such job."""
        ...

    def facts(self, checkpoint: TrainedCheckpoint) -> CheckpointFacts:
        """Read the trainer's metadata of one checkpoint."""
        ...


class RegistryWriter(Protocol):
    def claim(self, entry: RegistryEntry) -> None:
        """Add the entry; ConflictError when its name is already a model id."""
        ...

    def set_status(self, name: str, status: str) -> None: ...

    def release(self, name: str) -> None:
        """Remove the entry (nothing happens when it is already gone)."""
        ...
