"""Work handed to the pipeline worker Lambda: a `Worker` port, the Lambda adapter and an in-memory fake.

The worker dispatches on the event's `step` (`relay.pipeline.steps`); a hand-off is an
asynchronous invocation, so Lambda queues it, answers 202 at once and retries a failed run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.backends.aws_control import raise_control_error
from relay.errors import ServiceUnavailableError

# Lambda's "not now" answers to Invoke; anything else (no such function, access denied) is a
# deployment bug: a 500 whose cause reaches the logs with its traceback (`aws_control`).
_RETRYABLE = frozenset(
    {
        "TooManyRequestsException",
        "ServiceException",
        "ResourceConflictException",
        "ResourceNotReadyException",
        "EC2ThrottledException",
    }
)


class Worker(Protocol):
    def submit(self, event: dict[str, Any]) -> None:
        """Queue `event` for the worker; returns once Lambda has accepted it."""
        ...


class LambdaWorker:
    def __init__(self, client: Callable[[], Any], function_name: str) -> None:
        self._client = client
        self._function_name = function_name

    def submit(self, event: dict[str, Any]) -> None:
        try:
            response = self._client().invoke(
                FunctionName=self._function_name,
                InvocationType="Event",
                Payload=json.dumps(event).encode(),
            )
        except ClientError as exc:
            if error_code(exc) in _RETRYABLE:
                raise ServiceUnavailableError("The worker is busy; try again", retry_after=2) from exc
            raise_control_error(exc, "Invoke of the pipeline worker")
        except BotoCoreError as exc:
            raise ServiceUnavailableError("The worker could not be reached", retry_after=1) from exc
        status = response.get("StatusCode")
        if status != 202:
            raise ServiceUnavailableError(
                f"The worker did not accept the job (status {status})", retry_after=1
            )


class InMemoryWorker:
    """Records what was submitted; `fail` makes the next submissions raise as a throttled Invoke does."""

    def __init__(self) -> None:
        self.submitted: list[dict[str, Any]] = []
        self.fail = False

    def submit(self, event: dict[str, Any]) -> None:
        if self.fail:
            raise ServiceUnavailableError("The worker is busy; try again", retry_after=2)
        self.submitted.append(json.loads(json.dumps(event)))
