"""Whether a deployment's registry record may be called now, for the model resolver's `gate`.

A deployment (an inference component the control plane manages) is only callable while
Deployed. A deactivated one (idle, stopped by its schedule or with its engine) answers 503
with Retry-After and asks the deployer to bring it back; the data plane has no SageMaker
write permission, so it only hands the deployer an asynchronous event. The deployer makes
the Deactivated -> Reactivating transition a conditional write and starts the reactivation
only when that write wins, so duplicate events are harmless; the cooldown here keeps one
instance from sending one per request while the record still says Deactivated.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from relay.backends.worker import Worker
from relay.errors import ModelNotFoundError, RelayError, ServiceUnavailableError
from relay.services.deployments import status as statuses
from relay.targets import SageMakerTarget

_log = logging.getLogger(__name__)

# One reactivation request per deployment per instance in this window. Past it (the event
# was lost, or the deployer refused it) a request asks again.
DEFAULT_COOLDOWN_SECONDS = 60.0
_STARTING = frozenset({statuses.PENDING, statuses.DEPLOYING})


class DeploymentGate:
    """Callable as `ModelResolver(gate=...)`: returns for callable targets, raises otherwise."""

    def __init__(
        self,
        deployer: Worker | None,
        *,
        retry_after: int,
        cooldown: float = DEFAULT_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._deployer = deployer
        self._retry_after = max(1, retry_after)
        self._cooldown = cooldown
        self._clock = clock
        self._asked: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, target: SageMakerTarget) -> None:
        status = target.status
        if target.deployment_id is None or status is None or status == statuses.DEPLOYED:
            return  # hand-registered endpoints, and deployments in service
        name = target.name
        if statuses.is_terminal(status):
            raise ModelNotFoundError(f"The model '{name}' does not exist", param="model")
        if status == statuses.DEACTIVATED:
            self._ask_to_reactivate(target)
            message = f"The deployment '{name}' was deactivated and is being reactivated; retry shortly"
        elif status == statuses.REACTIVATING:
            message = f"The deployment '{name}' is being reactivated; retry shortly"
        elif status in _STARTING:
            message = f"The deployment '{name}' is still being deployed; retry shortly"
        else:
            message = f"The deployment '{name}' cannot serve requests now ({status}); retry shortly"
        raise ServiceUnavailableError(message, retry_after=self._retry_after)

    def _ask_to_reactivate(self, target: SageMakerTarget) -> None:
        deployment_id = str(target.deployment_id)
        now = self._clock()
        with self._lock:
            last = self._asked.get(deployment_id)
            if last is not None and now - last < self._cooldown:
                return
            self._asked[deployment_id] = now
        if self._deployer is None:
            _log.warning("deployment %s is deactivated and no deployer is configured", deployment_id)
            return
        event = {
            "action": "reactivate",
            "deployment_id": deployment_id,
            "project_id": target.metadata.get("project_id"),
        }
        try:
            self._deployer.submit(event)
        except RelayError:
            # The caller gets its 503 either way; the next request after this one asks again.
            with self._lock:
                self._asked.pop(deployment_id, None)
            _log.warning("could not ask the deployer to reactivate %s", deployment_id, exc_info=True)
