"""SageMaker training-job control calls at the edge: stop a job, describe it.

CreateTrainingJob is a state of the training state machine (so no Lambda needs iam:PassRole);
what the control plane and the pipeline worker do themselves goes through this adapter, which
maps errors by code once (`relay.backends.aws_control`). Hosting calls live in `hosting.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.backends.aws_control import raise_control_error
from relay.errors import NotFoundError

# StopTrainingJob on a job that was never created answers ResourceNotFound; on one that already
# stopped or finished, ValidationException. Either way nothing runs on a GPU for it.
_NOTHING_TO_STOP = frozenset({"ResourceNotFound", "ValidationException"})


@dataclass(frozen=True)
class TrainingJobState:
    """What DescribeTrainingJob says about a job, as far as the pipeline reads it."""

    status: str  # InProgress, Completed, Failed, Stopping, Stopped
    secondary_status: str = ""
    failure_reason: str | None = None


class SageMakerControl:
    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    @property
    def region(self) -> str:
        return str(self._client().meta.region_name)

    def stop_training_job(self, name: str) -> bool:
        """Ask SageMaker to stop the job (SIGTERM, then its grace period to save); False if none runs."""
        try:
            self._client().stop_training_job(TrainingJobName=name)
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) in _NOTHING_TO_STOP:
                return False
            raise_control_error(exc, "StopTrainingJob")
        return True

    def describe_training_job(self, name: str) -> TrainingJobState:
        """The job's status; NotFoundError when SageMaker has no job by that name."""
        try:
            described = self._client().describe_training_job(TrainingJobName=name)
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "ResourceNotFound":
                raise NotFoundError(f"SageMaker has no training job {name}") from exc
            raise_control_error(exc, "DescribeTrainingJob")
        return TrainingJobState(
            status=str(described["TrainingJobStatus"]),
            secondary_status=str(described.get("SecondaryStatus") or ""),
            failure_reason=described.get("FailureReason"),
        )
