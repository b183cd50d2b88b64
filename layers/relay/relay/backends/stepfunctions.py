"""Step Functions at the edge: start an execution idempotently by name, stop it, describe it.

Errors are mapped by code here (`aws_control`); callers see domain errors and plain values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.backends.aws_control import raise_control_error

# Stopping an execution that does not exist, or that already finished (Step Functions answers
# ValidationException for a closed one on some paths), leaves nothing running: not an error.
_ALREADY_GONE = frozenset({"ExecutionDoesNotExist", "ValidationException"})


@dataclass(frozen=True)
class Execution:
    arn: str
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE
    error: str | None = None
    cause: str | None = None


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN StartExecution gives an execution `name` of this state machine."""
    # arn:aws:states:<region>:<account>:stateMachine:<sm> -> ...:execution:<sm>:<name>
    prefix, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{prefix}:execution:{machine}:{name}"


class StepFunctions:
    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def start_execution(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> bool:
        """Start `name`; False when an execution by that name already exists (nothing new started).

        Step Functions itself returns the running execution when the same name and input are sent
        again, so a retried start never runs the pipeline twice.
        """
        try:
            self._client().start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
            )
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                return False
            raise_control_error(exc, "StartExecution")
        return True

    def stop_execution(self, arn: str, *, error: str, cause: str) -> bool:
        """Stop a running execution; False when there was none running."""
        try:
            self._client().stop_execution(executionArn=arn, error=error, cause=cause)
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) in _ALREADY_GONE:
                return False
            raise_control_error(exc, "StopExecution")
        return True

    def describe_execution(self, arn: str) -> Execution | None:
        """The execution's status, or None when there is no such execution."""
        try:
            described = self._client().describe_execution(executionArn=arn)
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return None
            raise_control_error(exc, "DescribeExecution")
        return Execution(
            arn=str(described["executionArn"]),
            status=str(described["status"]),
            error=described.get("error"),
            cause=described.get("cause"),
        )
