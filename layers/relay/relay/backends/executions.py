"""Step Functions executions of the deployment state machine, started idempotently by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.errors import RateLimitError, RelayError, ServiceUnavailableError
from relay.observability import logger


class ExecutionStarter(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> None:
        """Start execution `name` with `payload`; starting the same name again starts nothing."""
        ...


class StepFunctionsExecutions:
    def __init__(self, client: Callable[[], Any], state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> None:
        try:
            self._client().start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(payload, sort_keys=True)
            )
        except (ClientError, BotoCoreError) as exc:
            code = error_code(exc)
            # Standard workflows keep execution names for 90 days: the name is the idempotency key.
            if code == "ExecutionAlreadyExists":
                logger.info("execution already started", extra={"execution": name})
                return
            if isinstance(exc, BotoCoreError):
                raise ServiceUnavailableError("Could not reach Step Functions", retry_after=2) from exc
            if code == "ThrottlingException":
                raise RateLimitError("Step Functions is throttling; try again", retry_after=2) from exc
            if code in ("ExecutionLimitExceeded", "ServiceUnavailable", "InternalFailure"):
                raise ServiceUnavailableError(
                    "Step Functions cannot start it now; try again", retry_after=5
                ) from exc
            raise RelayError(f"Step Functions refused to start {name} ({code or 'unknown error'})") from exc
