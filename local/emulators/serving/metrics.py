"""SageMaker's invocation metrics, published into (moto's) CloudWatch as AWS publishes them.

Namespace `AWS/SageMaker`: `Invocations` per inference component (dimension
`InferenceComponentName`) and per endpoint variant (`EndpointName`, `VariantName`), and
`NoCapacityInvocationFailures` when a component had no copy to answer. Sent from one background
thread, so an invocation never waits on CloudWatch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import boto3

NAMESPACE = "AWS/SageMaker"
logger = logging.getLogger("relay.local")


class Metrics:
    def __init__(self) -> None:
        self._queue: queue.Queue[list[dict[str, Any]]] = queue.Queue()
        self._client: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def invoked(
        self, endpoint: str, variant: str, component: str | None, metric: str = "Invocations"
    ) -> None:
        now = time.time()
        data = [self._datum(metric, now, {"EndpointName": endpoint, "VariantName": variant})]
        if component:
            data.append(self._datum(metric, now, {"InferenceComponentName": component}))
        self._queue.put(data)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._send, name="sagemaker-metrics", daemon=True)
                self._thread.start()

    @staticmethod
    def _datum(metric: str, now: float, dimensions: dict[str, str]) -> dict[str, Any]:
        return {
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Timestamp": now,
            "Value": 1.0,
            "Unit": "None",
        }

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every queued datum was sent (tests read the metrics right after invoking)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def _send(self) -> None:
        while True:
            data = self._queue.get()
            try:
                if self._client is None:
                    self._client = boto3.client("cloudwatch")
                self._client.put_metric_data(Namespace=NAMESPACE, MetricData=data)
            except Exception:  # metrics are best effort, as the invocation already answered
                logger.warning("could not publish SageMaker invocation metrics", exc_info=True)
            finally:
                self._queue.task_done()
