"""EventBridge Scheduler: the weekly start/stop schedules of deployments and engines, errors mapped here.

Each schedule invokes the deployer Lambda with a fixed payload, through the role Scheduler
assumes. Puts are idempotent (create, or update when it exists) and deletes tolerate absence,
so a retried request or worker step converges instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.backends.sagemaker.hosting import QuotaExceededError
from relay.errors import (
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RelayError,
    ServiceUnavailableError,
    UpstreamError,
)


def map_scheduler_error(exc: Exception, operation: str, name: str) -> RelayError:
    if isinstance(exc, BotoCoreError):
        return ServiceUnavailableError("Could not reach EventBridge Scheduler", retry_after=2)
    if not isinstance(exc, ClientError):
        raise exc
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")) or code
    if code == "ThrottlingException":
        return RateLimitError(f"EventBridge Scheduler is throttling {operation}; try again", retry_after=2)
    if code == "ResourceNotFoundException":
        return NotFoundError(f"EventBridge Scheduler has no schedule {name} (or its group)")
    if code == "ValidationException":
        return BadRequestError(f"EventBridge Scheduler refused schedule {name}: {message}", param="schedule")
    if code == "ServiceQuotaExceededException":
        return QuotaExceededError(
            f"EventBridge Scheduler refused schedule {name}: the account is at its quota for schedules. "
            "Request an increase in Service Quotas (Amazon EventBridge Scheduler)."
        )
    if code == "AccessDeniedException":
        return PermissionDeniedError(f"Not allowed to call Scheduler {operation} on {name}")
    if code == "InternalServerException":
        return ServiceUnavailableError("EventBridge Scheduler failed; try again", retry_after=2)
    return UpstreamError(
        f"EventBridge Scheduler {operation} {name} failed: {code or 'unknown error'} {message}"
    )


class EventBridgeScheduler:
    def __init__(self, client: Callable[[], Any], group_name: str) -> None:
        self._client = client
        self._group = group_name

    def put(
        self,
        name: str,
        *,
        expression: str,
        timezone: str,
        target_arn: str,
        role_arn: str,
        payload: dict[str, Any],
    ) -> None:
        """Create the schedule, or update it in place when it already exists."""
        request = {
            "Name": name,
            "GroupName": self._group,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": timezone,
            # A start or stop is due at its minute: no flexible window.
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": target_arn,
                "RoleArn": role_arn,
                "Input": json.dumps(payload, sort_keys=True),
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
            },
            "State": "ENABLED",
        }
        try:
            try:
                self._client().create_schedule(**request)
            except ClientError as exc:
                if error_code(exc) != "ConflictException":
                    raise
                self._client().update_schedule(**request)
        except (ClientError, BotoCoreError) as exc:
            raise map_scheduler_error(exc, "CreateSchedule", name) from exc

    def delete(self, name: str) -> bool:
        """Delete the schedule; False when there was none."""
        try:
            self._client().delete_schedule(Name=name, GroupName=self._group)
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise map_scheduler_error(exc, "DeleteSchedule", name) from exc
        return True

    def exists(self, name: str) -> bool:
        try:
            self._client().get_schedule(Name=name, GroupName=self._group)
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise map_scheduler_error(exc, "GetSchedule", name) from exc
        return True
