"""Deployments as the API sees them: create (on a compatible engine or a new one), read, delete, reactivate.

Nothing is half-created: every check runs before the first write, and a write that fails
undoes the ones before it (the engine record, the registry name, the schedules, the record)
before the error reaches the client.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from relay.catalogue import base_model
from relay.errors import BadRequestError, ConflictError, RelayError
from relay.observability import logger
from relay.protocol.deployments import CreateDeploymentRequest, DeployOnEngineRequest
from relay.services.deployments import status as st
from relay.services.deployments.copies import CopyCounts
from relay.services.deployments.lifecycle import Lifecycle
from relay.services.deployments.models import (
    Deployment,
    Engine,
    RegistryEntry,
    SageMakerNames,
    Schedule,
)
from relay.services.deployments.repository import (
    DeploymentRepository,
    EngineRepository,
    deployment_not_found,
    engine_not_found,
)
from relay.services.deployments.schedules import ScheduleSync, parse_schedule
from relay.services.deployments.sources import DeploySource, SourceResolver
from relay.services.keys.access import can_see, owner_of
from relay.services.keys.models import Principal
from relay.services.projects.models import Project
from relay.services.projects.service import require_owned

DEPLOYMENT_PREFIX = "dp-"
ENGINE_PREFIX = "engine-"


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


class ProjectLookup(Protocol):
    def get(self, project_id: str) -> Project | None: ...


class DeploymentService:
    def __init__(
        self,
        *,
        deployments: DeploymentRepository,
        engines: EngineRepository,
        projects: ProjectLookup,
        sources: SourceResolver,
        lifecycle: Lifecycle,
        schedules: ScheduleSync | None,
        names: SageMakerNames,
        copies: CopyCounts,
    ) -> None:
        self.deployments = deployments
        self.engines = engines
        self.projects = projects
        self.sources = sources
        self.lifecycle = lifecycle
        self.schedules = schedules
        self.names = names
        self.copies = copies

    # --- reading ---

    def _project(self, project_id: str, principal: Principal) -> None:
        # Another key's project is 404, as its datasets and training jobs are.
        require_owned(self.projects, project_id, principal)

    def list(self, project_id: str, principal: Principal) -> builtins.list[Deployment]:
        self._project(project_id, principal)
        return self.deployments.list(project_id)

    def get(self, project_id: str, deployment_id: str, principal: Principal) -> Deployment:
        self._project(project_id, principal)
        found = self.deployments.get(project_id, deployment_id)
        if found is None:
            raise deployment_not_found(deployment_id)
        return found

    def detail(
        self, project_id: str, deployment_id: str, principal: Principal
    ) -> tuple[Deployment, int | None]:
        """The deployment and the copies SageMaker runs for it now (None when unknown)."""
        found = self.get(project_id, deployment_id, principal)
        return found, self.copies.of([found])[found.id]

    def engine(self, engine_id: str, principal: Principal) -> Engine:
        found = self.engines.get(engine_id)
        if found is None or found.state != "active" or not can_see(principal, found.owner):
            raise engine_not_found(engine_id)
        return found

    # --- creating ---

    def create(self, project_id: str, body: CreateDeploymentRequest, principal: Principal) -> Deployment:
        self._project(project_id, principal)
        source = self.sources.resolve(
            project_id, body.training_job_id, body.checkpoint, param="training_job_id"
        )
        schedule = parse_schedule(body.schedule.model_dump()) if body.schedule else None
        engine = self._compatible_engine(source, principal)
        return self._place(
            engine,
            is_new=self.engines.get(engine.id) is None,
            project_id=project_id,
            source=source,
            name=body.name,
            description=body.description,
            inactive_timeout=body.inactive_timeout,
            schedule=schedule,
        )

    def deploy_on_engine(
        self, engine_id: str, body: DeployOnEngineRequest, principal: Principal
    ) -> Deployment:
        engine = self.engine(engine_id, principal)
        self._project(body.project_id, principal)
        source = self.sources.resolve(body.project_id, body.training_id, body.checkpoint, param="training_id")
        if (source.base_model, source.task_type) != (engine.base_model, engine.task_type):
            raise BadRequestError(
                f"Engine {engine.id} serves {engine.base_model} for {engine.task_type}; this checkpoint is "
                f"{source.base_model} for {source.task_type}",
                param="training_id",
            )
        return self._place(
            engine,
            is_new=False,
            project_id=body.project_id,
            source=source,
            name=body.name,
            description=None,
            inactive_timeout=engine.inactive_timeout,
            schedule=None,
        )

    def _compatible_engine(self, source: DeploySource, principal: Principal) -> Engine:
        """An active idle-managed engine of this key for the base model and task, or a new one
        (not yet stored)."""
        for engine in self.engines.list():
            if (
                engine.state == "active"
                and can_see(principal, engine.owner)
                and engine.management_type == "inactive_timeout"
                and (engine.base_model, engine.task_type) == (source.base_model, source.task_type)
            ):
                return engine
        now = self.lifecycle.now()
        engine_id = new_id(ENGINE_PREFIX)
        return Engine(
            id=engine_id,
            name=engine_id,
            base_model=source.base_model,
            task_type=source.task_type,
            instance_type=source.spec.serving.instance_type,
            created_at=now,
            updated_at=now,
            owner=owner_of(principal),
        )

    def _base_component(self, engine: Engine, source: DeploySource) -> str | None:
        """The component an adapter can sit on: the engine's base-model deployment, if it has one."""
        if not source.adapter or source.task_type != "text-generation":
            return None
        for other in self.deployments.on_engine(engine.id):
            if other.checkpoint == 0 and other.base_component is None and not st.is_terminal(other.status):
                return self.names.component(other.id)
        return None

    def _place(
        self,
        engine: Engine,
        *,
        is_new: bool,
        project_id: str,
        source: DeploySource,
        name: str | None,
        description: str | None,
        inactive_timeout: int,
        schedule: Schedule | None,
    ) -> Deployment:
        self.lifecycle.require_executions()
        if name is not None and base_model(name) is not None:
            # A base model's name already means "this model, to fine-tune" in /v1/models.
            raise ConflictError(f"'{name}' is a base model's name; choose another deployment name")
        if schedule is not None and self.schedules is None:
            raise BadRequestError("Schedules are not configured on this stack", param="schedule")
        now = self.lifecycle.now()
        deployment_id = new_id(DEPLOYMENT_PREFIX)
        deployment = Deployment(
            id=deployment_id,
            project_id=project_id,
            name=name or deployment_id,
            engine_id=engine.id,
            status=st.PENDING,
            base_model=source.base_model,
            task_type=source.task_type,
            checkpoint=source.checkpoint,
            created_at=now,
            updated_at=now,
            inactive_timeout=inactive_timeout,
            training_id=source.training_id,
            description=description,
            schedule=schedule,
            model_data_url=source.model_data_url,
            adapter=source.adapter,
            labels=source.labels,
            base_component=self._base_component(engine, source),
        )
        undo: builtins.list[Callable[[], Any]] = []
        try:
            if is_new:
                self.engines.create(engine)
                undo.append(lambda: self.engines.remove(engine.id))
            self.lifecycle.registry.claim(self._entry(deployment))
            undo.append(lambda: self.lifecycle.registry.release(deployment.name))
            if schedule is not None and self.schedules is not None:
                schedules = self.schedules
                undo.append(lambda: schedules.remove(deployment_id))
                schedules.apply("deployment", deployment_id, schedule, project_id)
            self.deployments.create(deployment)
            undo.append(lambda: self.deployments.discard(project_id, deployment_id))
            self.lifecycle.start(deployment, "create")
        except Exception:
            for step in reversed(undo):
                try:
                    step()
                except RelayError:
                    logger.exception(
                        "undoing a failed deployment create", extra={"deployment": deployment_id}
                    )
            raise
        return deployment

    def _entry(self, deployment: Deployment) -> RegistryEntry:
        return RegistryEntry(
            name=deployment.name,
            endpoint_name=self.names.endpoint(deployment.engine_id),
            inference_component=self.names.component(deployment.id),
            flavour=deployment.flavour,
            type=deployment.model_type,
            deployment_id=deployment.id,
            status=deployment.status,
            created_at=deployment.created_at,
            labels=deployment.labels if deployment.task_type == "classification" else (),
            metadata={"project_id": deployment.project_id, "base_model": deployment.base_model},
        )

    # --- ending and reactivating ---

    def delete(self, project_id: str, deployment_id: str, principal: Principal) -> Deployment:
        """Cancel or terminate; the delete execution removes the component. Ended ones stay as they are."""
        deployment = self.get(project_id, deployment_id, principal)
        target = st.deletion_status(deployment.status)
        if target is None:
            return deployment
        component = self.names.component(deployment.id)
        dependents = [
            d.name
            for d in self.deployments.on_engine(deployment.engine_id)
            if d.base_component == component and not st.is_terminal(d.status)
        ]
        if dependents:
            raise ConflictError(
                f"Deployment {deployment.name} is the base of adapter deployments {', '.join(sorted(dependents))}; "
                "delete them first"
            )
        self.lifecycle.require_executions()
        ended = self.lifecycle.move(deployment, target)
        if deployment.schedule is not None and self.schedules is not None:
            self.schedules.remove(deployment.id)
        self.lifecycle.start(ended, "delete")
        return ended

    def reactivate(self, project_id: str, deployment_id: str, principal: Principal) -> None:
        deployment = self.get(project_id, deployment_id, principal)
        if deployment.status in (st.DEPLOYED, st.REACTIVATING):
            raise BadRequestError(f"Deployment {deployment.name} is already {deployment.status}")
        if deployment.status != st.DEACTIVATED:
            raise BadRequestError(
                f"Deployment {deployment.name} is {deployment.status}; only a Deactivated deployment can be reactivated"
            )
        if not self.lifecycle.start_reactivation(deployment):
            raise BadRequestError(f"Deployment {deployment.name} is already being reactivated")
