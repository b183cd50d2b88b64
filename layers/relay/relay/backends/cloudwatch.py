"""CloudWatch: the `Invocations` metric SageMaker publishes per inference component, errors mapped here.

The scaler reads these instead of recording each request itself (no DynamoDB write on the
request path). One GetMetricData call carries up to 500 queries; pages follow NextToken.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.errors import (
    BadRequestError,
    PermissionDeniedError,
    RateLimitError,
    RelayError,
    ServiceUnavailableError,
)

NAMESPACE = "AWS/SageMaker"
METRIC = "Invocations"
_MAX_QUERIES = 500


def map_cloudwatch_error(exc: Exception) -> RelayError:
    if isinstance(exc, BotoCoreError):
        return ServiceUnavailableError("Could not reach CloudWatch", retry_after=5)
    if not isinstance(exc, ClientError):
        raise exc
    code = error_code(exc)
    if code in ("Throttling", "ThrottlingException", "LimitExceeded", "LimitExceededException"):
        return RateLimitError("CloudWatch is throttling metric reads; try again", retry_after=5)
    if code in ("AccessDenied", "AccessDeniedException"):
        return PermissionDeniedError("Not allowed to read CloudWatch metrics (cloudwatch:GetMetricData)")
    if code in (
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "MissingParameter",
        "ValidationError",
    ):
        return BadRequestError(f"CloudWatch refused the metric query ({code})")
    return ServiceUnavailableError(f"CloudWatch failed ({code or 'unknown error'})", retry_after=5)


class CloudWatchMetrics:
    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def invocations(
        self, components: Sequence[str], *, start: int, end: int, period: int = 60
    ) -> dict[str, list[tuple[int, float]]]:
        """Per component, (period start in epoch seconds, invocations) for every period with data."""
        found: dict[str, list[tuple[int, float]]] = {name: [] for name in components}
        for offset in range(0, len(components), _MAX_QUERIES):
            batch = list(components[offset : offset + _MAX_QUERIES])
            queries = [
                {
                    "Id": f"m{index}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACE,
                            "MetricName": METRIC,
                            "Dimensions": [{"Name": "InferenceComponentName", "Value": name}],
                        },
                        "Period": period,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                for index, name in enumerate(batch)
            ]
            kwargs: dict[str, Any] = {
                "MetricDataQueries": queries,
                "StartTime": datetime.fromtimestamp(start, UTC),
                "EndTime": datetime.fromtimestamp(end, UTC),
            }
            while True:
                try:
                    page = self._client().get_metric_data(**kwargs)
                except (ClientError, BotoCoreError) as exc:
                    raise map_cloudwatch_error(exc) from exc
                for result in page.get("MetricDataResults", []):
                    name = batch[int(str(result["Id"])[1:])]
                    stamps = [int(t.timestamp()) for t in result.get("Timestamps", [])]
                    found[name] += list(
                        zip(stamps, (float(v) for v in result.get("Values", [])), strict=False)
                    )
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
        return found
