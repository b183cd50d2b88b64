"""In-memory fakes of the deployments feature's ports: SageMaker hosting, metrics, executions, the
registry and training checkpoints. They keep AWS's observable rules (asynchronous statuses, copy
counts, duplicate and missing names refused) so tests of the worker can fail for real reasons.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from relay.backends.sagemaker.hosting import ComponentSpec, ComponentState, QuotaExceededError
from relay.errors import BadRequestError, ConflictError, NotFoundError
from relay.services.deployments.models import (
    CheckpointFacts,
    RegistryEntry,
    TrainedCheckpoint,
    TrainingJobView,
)


@dataclass
class _Resource:
    status: str
    ticks: int  # describes left before the pending status settles
    detail: dict[str, Any] = field(default_factory=dict)


class InMemoryHosting:
    """Creating settles to InService (Deleting to gone) after `settle` describes."""

    def __init__(self, settle: int = 1) -> None:
        self.settle = settle
        self.models: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, _Resource] = {}
        self.components: dict[str, _Resource] = {}
        self.fail_components: dict[str, str] = {}  # name -> FailureReason once it settles
        self.quota_exceeded = False
        self.calls: list[str] = []

    def _settle(self, table: dict[str, _Resource], name: str) -> _Resource | None:
        found = table.get(name)
        if found is None:
            return None
        if found.ticks > 0:
            found.ticks -= 1
            return found
        if found.status == "Deleting":
            del table[name]
            return None
        if found.status in ("Creating", "Updating"):
            failure = self.fail_components.get(name) if table is self.components else None
            found.status = "Failed" if failure else "InService"
            if failure:
                found.detail["FailureReason"] = failure
            found.detail["current"] = found.detail.get("desired", 0)
        return found

    def create_model(
        self, name: str, *, image: str, role_arn: str, model_data_url: str | None, environment: dict[str, str]
    ) -> None:
        self.calls.append(f"CreateModel {name}")
        if name in self.models:
            raise BadRequestError(f"Cannot create already existing model {name}")
        self.models[name] = {
            "image": image,
            "role": role_arn,
            "data": model_data_url,
            "env": dict(environment),
        }

    def model_exists(self, name: str) -> bool:
        return name in self.models

    def delete_model(self, name: str) -> bool:
        return self.models.pop(name, None) is not None

    def create_endpoint_config(
        self, name: str, *, role_arn: str, variant_name: str, instance_type: str, max_instances: int
    ) -> None:
        self.calls.append(f"CreateEndpointConfig {name}")
        if name in self.configs:
            raise BadRequestError(f"Cannot create already existing endpoint configuration {name}")
        self.configs[name] = {"role": role_arn, "variant": variant_name, "instance_type": instance_type}

    def endpoint_config_exists(self, name: str) -> bool:
        return name in self.configs

    def delete_endpoint_config(self, name: str) -> bool:
        return self.configs.pop(name, None) is not None

    def create_endpoint(self, name: str, *, config_name: str, quota: str | None = None) -> None:
        self.calls.append(f"CreateEndpoint {name}")
        if self.quota_exceeded:
            raise QuotaExceededError(
                f"SageMaker refused CreateEndpoint: the account is at its quota for {quota}"
            )
        if name in self.endpoints or config_name not in self.configs:
            raise BadRequestError(f"Cannot create endpoint {name}")
        self.endpoints[name] = _Resource("Creating", self.settle)

    def endpoint_status(self, name: str) -> str | None:
        found = self._settle(self.endpoints, name)
        return found.status if found else None

    def delete_endpoint(self, name: str) -> bool:
        found = self.endpoints.get(name)
        if found is None:
            return False
        found.status, found.ticks = "Deleting", self.settle
        return True

    def create_component(self, spec: ComponentSpec, *, quota: str | None = None) -> None:
        self.calls.append(f"CreateInferenceComponent {spec.name}")
        endpoint = self.endpoints.get(spec.endpoint_name)
        if endpoint is None or endpoint.status != "InService" or spec.name in self.components:
            raise BadRequestError(f"Cannot create inference component {spec.name}")
        if spec.base_component and spec.base_component not in self.components:
            raise BadRequestError(f"Base inference component {spec.base_component} does not exist")
        if not spec.base_component and spec.model_name not in self.models:
            raise BadRequestError(f"Model {spec.model_name} does not exist")
        desired = 0 if spec.base_component else spec.copies
        self.components[spec.name] = _Resource(
            "Creating", self.settle, {"spec": spec, "desired": desired, "current": 0}
        )

    def component(self, name: str) -> ComponentState | None:
        found = self._settle(self.components, name)
        if found is None:
            return None
        return ComponentState(
            status=found.status,
            desired_copies=int(found.detail.get("desired", 0)),
            current_copies=int(found.detail.get("current", 0)),
            failure_reason=found.detail.get("FailureReason"),
        )

    def set_copies(self, name: str, copies: int) -> None:
        self.calls.append(f"UpdateInferenceComponentRuntimeConfig {name} {copies}")
        found = self.components.get(name)
        if found is None:
            raise NotFoundError(f"SageMaker has no inference component {name}")
        if found.status not in ("InService", "Updating"):
            raise BadRequestError(f"Inference component {name} is {found.status}")
        found.status, found.ticks = "Updating", self.settle
        found.detail["desired"] = copies

    def delete_component(self, name: str) -> bool:
        found = self.components.get(name)
        if found is None:
            return False
        found.status, found.ticks = "Deleting", self.settle
        return True

    def components_on(self, endpoint_name: str) -> list[str]:
        return [n for n, c in self.components.items() if c.detail["spec"].endpoint_name == endpoint_name]

    def resources(self, *, settle: bool = True) -> dict[str, list[str]]:
        """Everything that exists, as List* calls would show it; with `settle`, once pending
        deletions have finished (as a later List would show them)."""
        for _ in range(self.settle + 1 if settle else 0):
            for name in list(self.endpoints):
                self.endpoint_status(name)
            for name in list(self.components):
                self.component(name)
        return {
            "models": sorted(self.models),
            "endpoint_configs": sorted(self.configs),
            "endpoints": sorted(self.endpoints),
            "components": sorted(self.components),
        }


class InMemoryMetrics:
    def __init__(self) -> None:
        self.points: dict[str, list[tuple[int, float]]] = {}

    def invocations(
        self, components: Sequence[str], *, start: int, end: int, period: int = 60
    ) -> dict[str, list[tuple[int, float]]]:
        return {c: [p for p in self.points.get(c, []) if start <= p[0] < end] for c in components}


class RecordingExecutions:
    """Records started executions; a name seen before starts nothing, as Step Functions does."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}
        self.fail = False

    def start(self, name: str, payload: dict[str, Any]) -> None:
        if self.fail:
            raise ConflictError("Step Functions refused the execution")
        self.started.setdefault(name, json.loads(json.dumps(payload)))


class InMemoryRegistryWriter:
    def __init__(self, taken: Sequence[str] = ()) -> None:
        self.entries: dict[str, RegistryEntry] = {}
        self.taken = set(taken)  # model ids registered by other means

    def claim(self, entry: RegistryEntry) -> None:
        if entry.name in self.entries or entry.name in self.taken:
            raise ConflictError(f"Model {entry.name} is already registered")
        self.entries[entry.name] = entry

    def set_status(self, name: str, status: str) -> None:
        if name in self.entries:
            self.entries[name] = replace(self.entries[name], status=status)

    def release(self, name: str) -> None:
        self.entries.pop(name, None)


class InMemoryCheckpoints:
    def __init__(self) -> None:
        self.jobs: dict[tuple[str, str], TrainingJobView] = {}
        self.facts_by_url: dict[str, CheckpointFacts] = {}

    def add(
        self, project_id: str, job: TrainingJobView, facts: dict[int, CheckpointFacts] | None = None
    ) -> None:
        self.jobs[(project_id, job.id)] = job
        for checkpoint in job.checkpoints:
            self.facts_by_url[checkpoint.model_data_url] = (facts or {}).get(
                checkpoint.number, CheckpointFacts(False)
            )

    def training_job(self, project_id: str, job_id: str) -> TrainingJobView | None:
        return self.jobs.get((project_id, job_id))

    def facts(self, checkpoint: TrainedCheckpoint) -> CheckpointFacts:
        return self.facts_by_url[checkpoint.model_data_url]
