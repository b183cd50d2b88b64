"""Status changes with their side effects, shared by the API service and the worker.

A transition is a conditional write (the table in `status.py`); the registry entry follows
it, so the data plane sees the new status (503 while not Deployed, 404 once ended); and a
state machine execution is started by name `<deployment_id>-<action>-<n>`, so starting it
twice runs it once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

from relay.backends.stepfunctions import StepFunctions
from relay.errors import ConflictError
from relay.observability import logger
from relay.services.deployments import status as st
from relay.services.deployments.models import Deployment, NotConfiguredError, RegistryWriter
from relay.services.deployments.repository import DeploymentRepository

Action = Literal["create", "reactivate", "delete"]


class ExecutionStarter(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> None:
        """Start execution `name` with `payload`; the same name again starts nothing new."""
        ...


class DeploymentExecutions:
    """The deployment state machine's executions, through the shared Step Functions adapter."""

    def __init__(self, step_functions: StepFunctions, state_machine_arn: str) -> None:
        self._sfn = step_functions
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> None:
        if not self._sfn.start_execution(self._arn, name, payload):
            logger.info("execution already started", extra={"execution": name})


class Lifecycle:
    def __init__(
        self,
        deployments: DeploymentRepository,
        registry: RegistryWriter,
        executions: ExecutionStarter | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.deployments = deployments
        self.registry = registry
        self._executions = executions
        self._clock = clock

    def now(self) -> int:
        return int(self._clock())

    def require_executions(self) -> ExecutionStarter:
        if self._executions is None:
            raise NotConfiguredError(
                "Deployments are not configured here: DEPLOYMENT_STATE_MACHINE_ARN is not set"
            )
        return self._executions

    def move(self, deployment: Deployment, target: str, **fields: Any) -> Deployment:
        """Transition (ConflictError when the table refuses) and bring the registry entry along."""
        moved = self.deployments.transition(
            deployment.project_id, deployment.id, target, self.now(), **fields
        )
        if st.is_terminal(target):
            # Ended deployments are 404 `model_not_found` at once, not a 503 that never clears.
            self.registry.release(moved.name)
        else:
            self.registry.set_status(moved.name, target)
        logger.info(
            "deployment status", extra={"deployment": moved.id, "from": deployment.status, "to": target}
        )
        return moved

    def try_move(self, deployment: Deployment, target: str, **fields: Any) -> Deployment | None:
        """`move`, or None when another writer changed the status first."""
        try:
            return self.move(deployment, target, **fields)
        except ConflictError:
            return None

    def start(self, deployment: Deployment, action: Action, n: int = 1) -> None:
        self.require_executions().start(
            f"{deployment.id}-{action}-{n}",
            {"action": action, "deployment_id": deployment.id, "project_id": deployment.project_id},
        )

    def start_reactivation(self, deployment: Deployment) -> bool:
        """Deactivated -> Reactivating and start the execution, once: only the writer that wins
        the conditional write starts it, however many requests asked."""
        self.require_executions()
        n = deployment.reactivations + 1
        moved = self.try_move(deployment, st.REACTIVATING, reactivations=n, failure_reason=None)
        if moved is None:
            return False
        self.start(moved, "reactivate", n)
        return True
