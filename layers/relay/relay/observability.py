"""Powertools logger, metrics and tracer, built once per process.

The request id lives in a context variable so concurrent requests on one uvicorn worker
never see each other's correlation ids (Logger's appended keys are process-global).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from aws_lambda_powertools import Logger, Metrics, Tracer

request_id_var: ContextVar[str] = ContextVar("relay_request_id", default="")


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = request_id_var.get() or None
        return True


logger = Logger(service="relay")
logger.addFilter(_CorrelationFilter())
metrics = Metrics(namespace="Relay", service="relay")
tracer = Tracer(service="relay")
