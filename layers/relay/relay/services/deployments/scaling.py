"""The scaler (EventBridge Scheduler rate) and the weekly start/stop schedules, over SageMaker's metrics.

An adapter's traffic keeps its base component up: adapters run in the base's copies, so the
base is idle only when it and every adapter on it are. Deactivated components that still
have copies (an engine deactivate whose invoke was lost) are set to 0 on every run, components of
recently ended deployments are removed if a delete was cut short, and engines being deleted are
torn down once their components are gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from relay.services.deployments import scaler
from relay.services.deployments import status as st
from relay.services.deployments.lifecycle import Lifecycle
from relay.services.deployments.models import Deployment, SageMakerNames
from relay.services.deployments.repository import EngineRepository
from relay.services.deployments.resources import Resources

# How long after a deployment ends the scaler still checks that its resources are gone.
RECONCILE_SECONDS = 24 * 3600


class MetricsPort(Protocol):
    def invocations(
        self, components: Sequence[str], *, start: int, end: int, period: int = 60
    ) -> dict[str, list[tuple[int, float]]]: ...


class Scaler:
    def __init__(
        self,
        lifecycle: Lifecycle,
        engines: EngineRepository,
        resources: Resources,
        metrics: MetricsPort,
        names: SageMakerNames,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lifecycle = lifecycle
        self.engines = engines
        self.resources = resources
        self.metrics = metrics
        self.names = names
        self._clock = clock

    def deactivate(self, deployment: Deployment) -> bool:
        moved = self.lifecycle.try_move(deployment, st.DEACTIVATED)
        if moved is None:
            return False
        self.resources.set_copies(moved, 0)
        # Adapters run in this component's copies: with none left they cannot serve either.
        component = self.names.component(moved.id)
        for adapter in self.lifecycle.deployments.on_engine(moved.engine_id):
            if adapter.base_component == component and adapter.status == st.DEPLOYED:
                self.lifecycle.try_move(adapter, st.DEACTIVATED)
        return True

    def scale(self) -> dict[str, Any]:
        """Deactivate every Deployed component idle past its timeout; record engines' last access."""
        now = int(self._clock())
        deactivated: list[str] = []
        for engine in self.engines.list():
            if engine.state == "deleting":
                self.resources.delete_engine(engine.id)  # finish a teardown that waited on components
                continue
            on_engine = self.lifecycle.deployments.on_engine(engine.id)
            for deployment in on_engine:
                if deployment.status == st.DEACTIVATED:
                    self.resources.set_copies(deployment, 0)
                elif st.is_terminal(deployment.status) and now - deployment.updated_at < RECONCILE_SECONDS:
                    # An ended deployment whose delete execution failed still has its component.
                    self.resources.remove(deployment)
            deployed = [d for d in on_engine if d.status == st.DEPLOYED]
            if not deployed:
                continue
            start, end = scaler.metric_window(now, max(d.inactive_timeout for d in deployed))
            points = self.metrics.invocations(
                [self.names.component(d.id) for d in deployed], start=start, end=end
            )
            last = engine.last_access_timestamp
            for deployment in deployed:
                component = self.names.component(deployment.id)
                seen = list(points.get(component, []))
                for adapter in deployed:
                    if adapter.base_component == component:
                        seen += points.get(self.names.component(adapter.id), [])
                decision = scaler.decide(
                    now=now,
                    inactive_timeout=deployment.inactive_timeout,
                    deployed_at=deployment.deployed_at or deployment.updated_at,
                    points=seen,
                )
                if decision.last_access is not None:
                    last = max(last or 0, decision.last_access)
                # A scheduled engine follows its schedule, not idleness.
                if (
                    decision.idle
                    and engine.management_type == "inactive_timeout"
                    and self.deactivate(deployment)
                ):
                    deactivated.append(deployment.id)
            if last != engine.last_access_timestamp:
                self.engines.update(engine.id, now, last_access_timestamp=last)
        return {"deactivated": deactivated}

    def scheduled(self, target: str, owner_id: str, state: str, project_id: str | None) -> dict[str, Any]:
        """A schedule's start (reactivate what is Deactivated) or stop (deactivate what is Deployed)."""
        if target == "deployment":
            found = self.lifecycle.deployments.get(str(project_id), owner_id)
            deployments = [found] if found is not None else []
        elif target == "engine":
            deployments = self.lifecycle.deployments.on_engine(owner_id)
        else:
            raise ValueError(f"unknown schedule target {target!r}")
        changed: list[str] = []
        for deployment in deployments:
            if state == "stop" and deployment.status == st.DEPLOYED:
                if self.deactivate(deployment):
                    changed.append(deployment.id)
            elif state == "stop" and deployment.status == st.DEACTIVATED:
                if self.resources.set_copies(deployment, 0):
                    changed.append(deployment.id)
            elif state == "start" and deployment.status == st.DEACTIVATED:
                if self.lifecycle.start_reactivation(deployment):
                    changed.append(deployment.id)
            elif state not in ("start", "stop"):
                raise ValueError(f"unknown schedule state {state!r}")
        return {"changed": changed}
