"""Deployer worker: the deployment state machine's steps, the scaler's rate, schedules and reactivation.

Everything it does is `DeploymentWorker.handle` (`relay.services.deployments.worker`); this file
only wires it, as the other handlers do.
"""

from typing import Any

from relay.observability import get_tracer, logger
from relay.services.container import Services
from relay.settings import get_settings

tracer = get_tracer()
_services = Services(get_settings())


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return _services.deployment_worker.handle(event)
