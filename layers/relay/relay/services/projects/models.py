"""Projects as typed records, and everything a project holds as one read returns it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from relay.services.datasets.models import Dataset
from relay.services.training.models import TrainingJob
from relay.services.training.status import TERMINAL as TRAINING_TERMINAL

# A project is `active`, or `deleting` while a delete checks its children and removes them
# (back to `active` when a child is still busy). A delete cut short may run again from `deleting`.
ProjectState = Literal["active", "deleting"]
PROJECT_TRANSITIONS: Final[dict[ProjectState, frozenset[ProjectState]]] = {
    "active": frozenset({"deleting"}),
    "deleting": frozenset({"active", "deleting"}),
}

# Spec statuses of a deployment that no longer holds SageMaker resources. A deactivated
# deployment still holds an endpoint configuration, so it counts as active.
DEPLOYMENT_TERMINAL: Final = frozenset({"Failed", "Cancelled", "Terminated", "TimedOut"})


def project_sources_of(target: ProjectState) -> tuple[ProjectState, ...]:
    """The states a project may move to `target` from (the condition of the conditional write)."""
    return tuple(state for state, targets in PROJECT_TRANSITIONS.items() if target in targets)


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    created_at: int
    updated_at: int
    state: ProjectState = "active"
    owner: str | None = None  # the creating key's id; None on projects made before owners existed


@dataclass(frozen=True)
class DeploymentRef:
    """A deployment item of the project's partition, as far as the project detail and delete read it."""

    id: str
    name: str | None = None
    status: str | None = None
    created_at: int | None = None

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> DeploymentRef:
        created = values.get("created_at")
        return cls(
            id=str(values.get("id") or ""),
            name=values.get("name"),
            status=values.get("status"),
            created_at=int(created) if created is not None else None,
        )


@dataclass(frozen=True)
class ProjectContents:
    """Everything in a project's partition, read with one Query."""

    project: Project
    datasets: list[Dataset]
    training_jobs: list[TrainingJob]
    deployments: list[DeploymentRef]

    def active_training_jobs(self, dataset_id: str | None = None) -> list[TrainingJob]:
        return [
            job
            for job in self.training_jobs
            if job.status not in TRAINING_TERMINAL and (dataset_id is None or dataset_id in job.dataset_ids)
        ]

    def active_deployments(self) -> list[DeploymentRef]:
        return [d for d in self.deployments if d.status not in DEPLOYMENT_TERMINAL]
