"""Storage ports for deployments and engines, and their in-memory fakes (the same rules, no IO).

Every status change is conditional on the transition table (`status.sources_of`): a fake and
the DynamoDB adapter refuse the same writes with the same errors.
"""

from __future__ import annotations

import builtins
import threading
from dataclasses import replace
from typing import Any, Protocol

from relay.errors import ConflictError, NotFoundError
from relay.services.deployments import status as st
from relay.services.deployments.models import Deployment, Engine


def deployment_not_found(deployment_id: str) -> NotFoundError:
    return NotFoundError(f"No deployment with id '{deployment_id}' in this project")


def engine_not_found(engine_id: str) -> NotFoundError:
    return NotFoundError(f"No inference engine with id '{engine_id}'")


def refused(deployment: Deployment, target: str) -> ConflictError:
    return ConflictError(f"Deployment {deployment.id} is {deployment.status}; it cannot become {target}")


class DeploymentRepository(Protocol):
    def create(self, deployment: Deployment) -> None:
        """Insert while the project is active (NotFoundError otherwise)."""
        ...

    def get(self, project_id: str, deployment_id: str) -> Deployment | None: ...

    def list(self, project_id: str) -> builtins.list[Deployment]: ...

    def on_engine(self, engine_id: str) -> builtins.list[Deployment]: ...

    def transition(
        self, project_id: str, deployment_id: str, target: str, now: int, **fields: Any
    ) -> Deployment:
        """Move to `target` if the table allows it from the current status, setting `fields`.

        ConflictError when the current status does not allow it, NotFoundError when absent.
        """
        ...

    def update(self, project_id: str, deployment_id: str, now: int, **fields: Any) -> None:
        """Set non-status fields of an existing deployment."""
        ...

    def discard(self, project_id: str, deployment_id: str) -> None:
        """Remove a record that a failed create must not leave behind (nothing if it is gone)."""
        ...


class EngineRepository(Protocol):
    def create(self, engine: Engine) -> None: ...

    def get(self, engine_id: str) -> Engine | None: ...

    def list(self) -> builtins.list[Engine]: ...

    def update(self, engine_id: str, now: int, **fields: Any) -> None: ...

    def begin_delete(self, engine_id: str, now: int) -> Engine:
        """Move an active engine to `deleting` (NotFoundError when absent or already deleting)."""
        ...

    def remove(self, engine_id: str) -> None:
        """Drop the record of an engine being deleted (nothing happens when it is gone)."""
        ...


class InMemoryDeploymentRepository:
    def __init__(self, active_projects: set[str] | None = None) -> None:
        # None: every project counts as active (tests of the worker need no project records).
        self.active_projects = active_projects
        self.items: dict[tuple[str, str], Deployment] = {}
        self._lock = threading.Lock()

    def create(self, deployment: Deployment) -> None:
        with self._lock:
            if self.active_projects is not None and deployment.project_id not in self.active_projects:
                raise NotFoundError(f"No project with id '{deployment.project_id}'")
            key = (deployment.project_id, deployment.id)
            if key in self.items:
                raise ConflictError(f"Deployment {deployment.id} already exists")
            self.items[key] = deployment

    def get(self, project_id: str, deployment_id: str) -> Deployment | None:
        return self.items.get((project_id, deployment_id))

    def list(self, project_id: str) -> builtins.list[Deployment]:
        found = [d for (p, _), d in self.items.items() if p == project_id]
        return sorted(found, key=lambda d: (d.created_at, d.id))

    def on_engine(self, engine_id: str) -> builtins.list[Deployment]:
        return sorted((d for d in self.items.values() if d.engine_id == engine_id), key=lambda d: d.id)

    def transition(
        self, project_id: str, deployment_id: str, target: str, now: int, **fields: Any
    ) -> Deployment:
        with self._lock:
            current = self.items.get((project_id, deployment_id))
            if current is None:
                raise deployment_not_found(deployment_id)
            if not st.can_transition(current.status, target):
                raise refused(current, target)
            updated = replace(current, status=target, updated_at=now, **fields)
            self.items[(project_id, deployment_id)] = updated
            return updated

    def update(self, project_id: str, deployment_id: str, now: int, **fields: Any) -> None:
        with self._lock:
            current = self.items.get((project_id, deployment_id))
            if current is None:
                raise deployment_not_found(deployment_id)
            self.items[(project_id, deployment_id)] = replace(current, updated_at=now, **fields)

    def discard(self, project_id: str, deployment_id: str) -> None:
        with self._lock:
            self.items.pop((project_id, deployment_id), None)


class InMemoryEngineRepository:
    def __init__(self) -> None:
        self.items: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def create(self, engine: Engine) -> None:
        with self._lock:
            if engine.id in self.items:
                raise ConflictError(f"Engine {engine.id} already exists")
            self.items[engine.id] = engine

    def get(self, engine_id: str) -> Engine | None:
        return self.items.get(engine_id)

    def list(self) -> builtins.list[Engine]:
        return sorted(self.items.values(), key=lambda e: (e.created_at, e.id))

    def update(self, engine_id: str, now: int, **fields: Any) -> None:
        with self._lock:
            current = self.items.get(engine_id)
            if current is None:
                raise engine_not_found(engine_id)
            self.items[engine_id] = replace(current, updated_at=now, **fields)

    def begin_delete(self, engine_id: str, now: int) -> Engine:
        with self._lock:
            current = self.items.get(engine_id)
            if current is None or current.state != "active":
                raise engine_not_found(engine_id)
            updated = replace(current, state="deleting", updated_at=now)
            self.items[engine_id] = updated
            return updated

    def remove(self, engine_id: str) -> None:
        with self._lock:
            self.items.pop(engine_id, None)
