"""Engine and deployment wire models of the control-plane spec (`/v1/engines*`, `.../deployments*`).

Field shapes are checked here (a bad value answers 400 naming the field); what needs the
catalogue, the clock's timezone database or the table (schedules, training jobs, engines)
is checked by the deployments service.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from relay.protocol.base import WireModel

DeploymentStatus = Literal[
    "Pending",
    "Deploying",
    "Deployed",
    "Failed",
    "Cancelled",
    "Terminated",
    "Deactivated",
    "Reactivating",
    "TimedOut",
]
EngineStatus = Literal["Creating", "Active", "Inactive"]
Day = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ManagementType = Literal["inactive_timeout", "schedule"]

# A deployment's name is a model id (`name`, served as `name/dev`), so it has a model name's
# shape and no `/`.
DEPLOYMENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
# Idle scale-to-zero bounds: the scaler runs every few minutes on metrics of one-minute
# periods, so less than 5 minutes cannot be honoured; a week is the longest CloudWatch
# window the scaler reads in one call.
MIN_INACTIVE_TIMEOUT = 300
MAX_INACTIVE_TIMEOUT = 7 * 24 * 3600
DEFAULT_INACTIVE_TIMEOUT = 3600


class ScheduleConfig(WireModel):
    """A weekly window: start at `start_time` and stop at `end_time` on each of `days`."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(min_length=1, max_length=64, description="An IANA timezone")
    start_time: str = Field(description="HH:MM, 24-hour")
    end_time: str = Field(description="HH:MM, 24-hour")
    days: list[Day] = Field(min_length=1, max_length=7)


class InactiveTimeoutConfig(WireModel):
    model_config = ConfigDict(extra="forbid")

    inactive_duration: int = Field(ge=MIN_INACTIVE_TIMEOUT, le=MAX_INACTIVE_TIMEOUT)


class ResourceManagementConfig(WireModel):
    model_config = ConfigDict(extra="forbid")

    management_type: ManagementType
    management_config: dict[str, Any]

    @model_validator(mode="after")
    def _config_matches_type(self) -> ResourceManagementConfig:
        # Checked here so a mistyped key answers 400 naming it instead of being ignored.
        if self.management_type == "inactive_timeout":
            InactiveTimeoutConfig.model_validate(self.management_config)
        else:
            ScheduleConfig.model_validate(self.management_config)
        return self


class CreateDeploymentRequest(WireModel):
    # Unknown fields are refused with a 400 naming them, never silently ignored.
    model_config = ConfigDict(extra="forbid")

    training_job_id: str = Field(
        min_length=1, max_length=256, description="A training job id, or a base model name with checkpoint 0"
    )
    checkpoint: int = Field(ge=0, description="0 deploys the base model")
    name: str | None = Field(default=None, pattern=DEPLOYMENT_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=1024)
    inactive_timeout: int = Field(
        default=DEFAULT_INACTIVE_TIMEOUT, ge=MIN_INACTIVE_TIMEOUT, le=MAX_INACTIVE_TIMEOUT
    )
    schedule: ScheduleConfig | None = None


class DeployOnEngineRequest(WireModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, pattern=DEPLOYMENT_NAME_PATTERN)
    project_id: str = Field(min_length=1, max_length=64)
    training_id: str = Field(min_length=1, max_length=256)
    checkpoint: int = Field(ge=0)


class UndeployRequest(WireModel):
    model_config = ConfigDict(extra="forbid")

    deployment_name: str = Field(min_length=1, max_length=128)


class CreateEngineRequest(WireModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    base_model: str = Field(min_length=1, max_length=256)
    task_type: Literal["text-generation", "classification", "embedding", "regression"] | None = None
    resource_management_config: ResourceManagementConfig | None = None


class DeploymentSummary(WireModel):
    id: str
    name: str
    status: DeploymentStatus
    created_at: int


class ClassificationMetadata(WireModel):
    labels: list[str]


class DeploymentDetail(WireModel):
    id: str
    name: str
    task_type: str
    metadata: ClassificationMetadata | None = None
    description: str | None = None
    base_model: str
    status: DeploymentStatus
    training_id: str | None = None
    checkpoint: int
    created_at: int
    updated_at: int
    # Relay's own fields.
    engine_id: str
    inactive_timeout: int
    schedule: ScheduleConfig | None = None
    failure_reason: str | None = None
    # The model copies SageMaker runs now (an adapter's are its base component's); None when
    # there is no inference component or SageMaker could not be read.
    copies: int | None = None


class EngineDeployment(DeploymentSummary):
    """A deployment as the engine detail lists it: the spec's summary and its running copies."""

    # Relay's own fields.
    copies: int | None = None


class InferenceEngineSummary(WireModel):
    id: str
    name: str
    status: EngineStatus
    base_model: str
    server_type: str
    task_type: str
    deployment_counts: int
    created_at: int


class InferenceEngineDetail(WireModel):
    id: str
    name: str
    status: EngineStatus
    base_model: str
    task_type: str
    server_type: str
    deployments: list[EngineDeployment]
    base_model_option: str
    last_access_timestamp: int | None = None
    resource_management_config: ResourceManagementConfig
    created_at: int
    # Relay's own fields.
    instance_type: str
