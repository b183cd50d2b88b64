"""Powertools logger, metrics and tracer, built once per process.

The request id lives in a context variable so concurrent requests on one uvicorn worker
never see each other's correlation ids (Logger's appended keys are process-global).

The tracer is built on first use: importing the X-Ray SDK costs ~200 ms of cold start, and
only the buffered ControlPlane handler (where Lambda hands over a trace segment) uses it.
Under the Lambda Web Adapter the app runs in its own process without that segment, so the
DataPlane relies on Lambda's active tracing of the invocation instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

request_id_var: ContextVar[str] = ContextVar("relay_request_id", default="")


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = request_id_var.get() or None
        return True


logger = Logger(service="relay")
logger.addFilter(_CorrelationFilter())
metrics = Metrics(namespace="Relay", service="relay")
# Per-key metrics carry the key id as a dimension, in their own EMF lines: the shared
# `metrics` buffer's dimensions are process-wide, so a key id set there would leak into
# other requests' lines. One lock keeps concurrent requests' sets apart.
_key_metrics = EphemeralMetrics(namespace="Relay", service="relay")
_key_metrics_lock = threading.Lock()


def key_metrics(
    key_id: str, values: Iterable[tuple[str, float]], unit: MetricUnit = MetricUnit.Count
) -> None:
    """One EMF line of `values` with the `KeyId` dimension (the dashboard's per-key widgets)."""
    with _key_metrics_lock:
        _key_metrics.add_dimension(name="KeyId", value=key_id)
        for name, value in values:
            _key_metrics.add_metric(name=name, unit=unit, value=value)
        _key_metrics.flush_metrics()
        _key_metrics.clear_metrics()  # flushing keeps the dimension; the next line is another key's


@lru_cache(maxsize=1)
def get_tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    return Tracer(service="relay")
