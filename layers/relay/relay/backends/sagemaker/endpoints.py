"""DescribeEndpoint for model registration: whether an endpoint exists, and its status.

SageMaker has no "not found" error code for endpoints: DescribeEndpoint answers
ValidationException, the same code as for a malformed name. The one place that reads the
message to tell them apart is the shared pattern in `errors.py`, here at the edge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.backends.sagemaker.errors import is_missing_resource
from relay.observability import logger

UNKNOWN = "unknown"


class EndpointDirectory:
    """Reads endpoint statuses with the SageMaker control-plane client (read-only calls)."""

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory

    def status(self, endpoint_name: str) -> str | None:
        """DescribeEndpoint's `EndpointStatus`; None when the endpoint does not exist; `unknown`
        when SageMaker could not say (access denied, throttled, unreachable)."""
        try:
            described = self._client_factory().describe_endpoint(EndpointName=endpoint_name)
        except ClientError as exc:
            if error_code(exc) in ("ValidationException", "ValidationError") and is_missing_resource(exc):
                return None
            logger.warning("DescribeEndpoint failed", extra={"code": error_code(exc)})
            return UNKNOWN
        except BotoCoreError:
            logger.warning("DescribeEndpoint unreachable")
            return UNKNOWN
        return str(described.get("EndpointStatus", UNKNOWN))
