"""Inference engines as the API sees them: create, list, detail, deactivate, reactivate, undeploy, delete.

The control plane has no SageMaker write permission: copy counts and teardown are the
deployer's, reached through the state machine or an asynchronous invoke. Statuses change
here first, so the data plane answers 503 (or 404) at once.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from relay.backends.worker import Worker
from relay.catalogue import base_model
from relay.errors import BadRequestError, ConflictError, NotFoundError
from relay.protocol.deployments import DEFAULT_INACTIVE_TIMEOUT, CreateEngineRequest
from relay.services.deployments import status as st
from relay.services.deployments.models import Deployment, Engine, NotConfiguredError, Schedule
from relay.services.deployments.schedules import parse_schedule
from relay.services.deployments.service import ENGINE_PREFIX, DeploymentService, new_id
from relay.services.deployments.sources import BASE_TASKS
from relay.services.keys.access import can_see, owner_of
from relay.services.keys.models import Principal


@dataclass(frozen=True)
class EngineView:
    engine: Engine
    status: str
    deployments: builtins.list[Deployment]  # the live ones (not ended)
    # Running copies by deployment id: read from SageMaker by `detail` only.
    copies: Mapping[str, int | None] = field(default_factory=dict)


class EngineService:
    def __init__(self, deployments: DeploymentService, worker: Worker | None) -> None:
        self._service = deployments
        self._engines = deployments.engines
        self._deployments = deployments.deployments
        self._lifecycle = deployments.lifecycle
        self._worker = worker

    def _view(self, engine: Engine) -> EngineView:
        live = [d for d in self._deployments.on_engine(engine.id) if not st.is_terminal(d.status)]
        live.sort(key=lambda d: (d.created_at, d.id))
        return EngineView(engine, st.engine_status(d.status for d in live), live)

    def _require_worker(self) -> Worker:
        if self._worker is None:
            raise NotConfiguredError("Engines are not configured here: DEPLOYER_FUNCTION_NAME is not set")
        return self._worker

    def create(self, body: CreateEngineRequest, principal: Principal) -> EngineView:
        spec = base_model(body.base_model)
        if spec is None:
            raise BadRequestError(
                f"Unknown base model '{body.base_model}'; GET /v1/models lists the catalogue",
                param="base_model",
            )
        task = body.task_type or BASE_TASKS.get(spec.type) or spec.task_types[0]
        if task not in spec.task_types:
            raise BadRequestError(
                f"{spec.name} serves {', '.join(spec.task_types)}, not {task}", param="task_type"
            )
        management, timeout, schedule = "inactive_timeout", DEFAULT_INACTIVE_TIMEOUT, None
        config = body.resource_management_config
        if config is not None and config.management_type == "schedule":
            management = "schedule"
            schedule = parse_schedule(
                config.management_config, "resource_management_config.management_config"
            )
            if self._service.schedules is None:
                raise BadRequestError(
                    "Schedules are not configured on this stack", param="resource_management_config"
                )
        elif config is not None:
            timeout = int(config.management_config["inactive_duration"])
        now = self._lifecycle.now()
        engine_id = new_id(ENGINE_PREFIX)
        engine = Engine(
            id=engine_id,
            name=body.name or engine_id,
            base_model=spec.name,
            task_type=task,
            instance_type=spec.serving.instance_type,
            created_at=now,
            updated_at=now,
            management_type=management,  # type: ignore[arg-type]
            inactive_timeout=timeout,
            schedule=schedule,
            owner=owner_of(principal),
        )
        if schedule is not None and self._service.schedules is not None:
            self._service.schedules.apply("engine", engine_id, schedule, None)
        try:
            self._engines.create(engine)
        except Exception:
            if schedule is not None and self._service.schedules is not None:
                self._service.schedules.remove(engine_id)
            raise
        return self._view(engine)

    def list(
        self, principal: Principal, base_model_name: str | None = None, task_type: str | None = None
    ) -> builtins.list[EngineView]:
        engines = [
            e
            for e in self._engines.list()
            if e.state == "active"
            and can_see(principal, e.owner)
            and (base_model_name is None or e.base_model == base_model_name)
            and (task_type is None or e.task_type == task_type)
        ]
        return [self._view(e) for e in engines]

    def get(self, engine_id: str, principal: Principal) -> EngineView:
        return self._view(self._service.engine(engine_id, principal))

    def detail(self, engine_id: str, principal: Principal) -> EngineView:
        """The engine with the copies SageMaker runs for each of its deployments."""
        view = self.get(engine_id, principal)
        return replace(view, copies=self._service.copies.of(view.deployments))

    def deactivate(self, engine_id: str, principal: Principal) -> None:
        view = self.get(engine_id, principal)
        if view.status != st.ENGINE_ACTIVE:
            raise BadRequestError(
                f"Engine {engine_id} is {view.status}; only an Active engine can be deactivated"
            )
        worker = self._require_worker()
        for deployment in view.deployments:
            if deployment.status == st.DEPLOYED:
                self._lifecycle.try_move(deployment, st.DEACTIVATED)
        # The deployer sets the copy counts to 0 (the scaler also reconciles any it missed).
        worker.submit({"action": "schedule", "target": "engine", "id": engine_id, "state": "stop"})

    def reactivate(self, engine_id: str, principal: Principal) -> None:
        view = self.get(engine_id, principal)
        if view.status != st.ENGINE_INACTIVE:
            raise BadRequestError(
                f"Engine {engine_id} is {view.status}; it is already deployed or reactivating"
            )
        asleep = [d for d in view.deployments if d.status == st.DEACTIVATED]
        if not asleep:
            raise BadRequestError(f"Engine {engine_id} has no deactivated deployments to reactivate")
        for deployment in asleep:
            self._lifecycle.start_reactivation(deployment)

    def undeploy(self, engine_id: str, deployment_name: str, principal: Principal) -> None:
        view = self.get(engine_id, principal)
        found = next((d for d in view.deployments if d.name == deployment_name), None)
        if found is None:
            raise NotFoundError(
                f"Engine {engine_id} has no deployment named '{deployment_name}'", param="deployment_name"
            )
        self._service.delete(found.project_id, found.id, principal)

    def delete(self, engine_id: str, principal: Principal) -> None:
        view = self.get(engine_id, principal)
        if view.deployments:
            names = ", ".join(d.name for d in view.deployments)
            raise ConflictError(f"Engine {engine_id} still has deployments ({names}); undeploy them first")
        worker = self._require_worker()
        engine = self._engines.begin_delete(engine_id, self._lifecycle.now())
        try:
            worker.submit({"action": "delete_engine", "engine_id": engine_id})
        except Exception:
            self._engines.update(engine_id, self._lifecycle.now(), state="active")
            raise
        if engine.schedule is not None and self._service.schedules is not None:
            self._service.schedules.remove(engine_id)


def management_config(engine: Engine) -> tuple[str, dict[str, object]]:
    """The spec's `resource_management_config` parts for an engine."""
    if engine.management_type == "schedule" and engine.schedule is not None:
        return "schedule", Schedule.as_dict(engine.schedule)
    return "inactive_timeout", {"inactive_duration": engine.inactive_timeout}
