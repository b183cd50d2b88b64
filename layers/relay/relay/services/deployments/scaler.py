"""The idle scale-to-zero decision (pure: the clock and the metric values are passed in).

The scaler reads SageMaker's own `Invocations` metric per inference component (no DynamoDB
write per request). CloudWatch stamps each data point with the start of its period, so a
request counted in a point may have arrived up to one period later: the last access is taken
as the end of the last period with invocations, which errs towards staying up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The metric period the scaler asks for; SageMaker publishes invocation metrics per minute.
METRIC_PERIOD_SECONDS = 60
# How far back the metric query reaches beyond the timeout, for data points published late.
LOOKBACK_SLACK_SECONDS = 10 * 60


@dataclass(frozen=True)
class IdleDecision:
    idle: bool
    # The last time the component was seen serving (end of the period), or None if never.
    last_access: int | None
    # Seconds since the component was last used or last became Deployed.
    idle_seconds: int


def metric_window(now: int, inactive_timeout: int) -> tuple[int, int]:
    """The [start, end) range of the metric query that can show activity within the timeout."""
    return now - inactive_timeout - LOOKBACK_SLACK_SECONDS, now


def last_access(points: Iterable[tuple[int, float]], period: int = METRIC_PERIOD_SECONDS) -> int | None:
    """The end of the latest period with at least one invocation."""
    active = [timestamp for timestamp, value in points if value > 0]
    return max(active) + period if active else None


def decide(
    *,
    now: int,
    inactive_timeout: int,
    deployed_at: int,
    points: Iterable[tuple[int, float]],
    period: int = METRIC_PERIOD_SECONDS,
) -> IdleDecision:
    """Idle once neither an invocation nor the last (re)deploy happened within the timeout."""
    seen = last_access(points, period)
    reference = max(deployed_at, seen) if seen is not None else deployed_at
    idle_seconds = max(0, now - reference)
    return IdleDecision(idle=idle_seconds >= inactive_timeout, last_access=seen, idle_seconds=idle_seconds)
