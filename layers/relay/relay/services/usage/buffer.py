"""Usage rows summed in memory and written by a background thread, off every request's path.

A DynamoDB write after each response cost about 1 ms of the next request's latency and half the
throughput of one instance (measured with `make bench`), so the data plane adds each finished
request's meter here (no IO) and one thread writes the sums, one `ADD` per key, day and model,
every `interval` seconds. What is pending is also written before any usage is read in this
process, and at shutdown: under the Lambda Web Adapter the function's process gets SIGTERM
before its environment is reclaimed, and the app's lifespan flushes. A write that fails is put
back to be tried again, up to `MAX_ATTEMPTS` flushes; then its counts are logged and dropped,
so a row DynamoDB will never take (or a table gone for good) cannot retry forever.
"""

from __future__ import annotations

import threading
from collections import deque

from relay.observability import logger
from relay.services.usage.meter import RequestMeter, UsageCounts, meter_rows
from relay.services.usage.repository import UsageRepository

Row = tuple[str, str, str]  # key id, UTC date, model
DEFAULT_INTERVAL = 1.0
MAX_ATTEMPTS = 5
_LOGGED_MODEL_CHARS = 200


class UsageBuffer:
    def __init__(self, usage: UsageRepository, *, interval: float = DEFAULT_INTERVAL) -> None:
        self._usage = usage
        self._interval = interval
        self._pending: dict[Row, UsageCounts] = {}
        self._attempts: dict[Row, int] = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one writer at a time, so a row is never written twice
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # Finished requests' meters, summed into `_pending` by whoever flushes: a request only
        # appends (deque.append is atomic), so summing costs the request path nothing.
        self._meters: deque[tuple[str, RequestMeter]] = deque()

    def add_meter(self, date: str, meter: RequestMeter) -> None:
        """A finished request's meter, summed at the next flush."""
        self._meters.append((date, meter))
        thread = self._thread
        if thread is None or not thread.is_alive():
            with self._lock:
                self._start()

    def add(self, key_id: str, date: str, rows: dict[str, UsageCounts]) -> None:
        with self._lock:
            for model, counts in rows.items():
                total = self._pending.setdefault((key_id, date, model), UsageCounts())
                total.add(counts)
            self._start()

    def _start(self) -> None:  # under `_lock`
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="usage-flush", daemon=True)
            self._thread.start()

    def _sum_meters(self) -> None:  # under `_lock`
        meters = self._meters
        while meters:
            date, meter = meters.popleft()
            for model, counts in meter_rows(meter).items():
                self._pending.setdefault((meter.key_id, date, model), UsageCounts()).add(counts)

    def pending(self) -> int:
        with self._lock:
            self._sum_meters()
            return len(self._pending)

    def flush(self) -> None:
        """Write everything pending now (before a read of usage, and at shutdown)."""
        with self._flushing:
            with self._lock:
                self._sum_meters()
                batch, self._pending = self._pending, {}
            failed: dict[Row, UsageCounts] = {}
            for row, counts in batch.items():
                key_id, date, model = row
                try:
                    self._usage.add(key_id, date, model, counts)
                    self._attempts.pop(row, None)
                except Exception:  # the response went out long ago: keep the counts, retry a while
                    attempts = self._attempts.get(row, 0) + 1
                    kept = attempts < MAX_ATTEMPTS
                    logger.exception(
                        "could not record usage; kept for the next flush"
                        if kept
                        else "could not record usage; dropped",
                        extra={
                            "key_id": key_id,
                            "date": date,
                            "model": model[:_LOGGED_MODEL_CHARS],
                            "usage": vars(counts),
                            "attempts": attempts,
                        },
                    )
                    if kept:
                        self._attempts[row] = attempts
                        failed[row] = counts
                    else:
                        self._attempts.pop(row, None)
            if failed:
                with self._lock:
                    for row, counts in failed.items():
                        self._pending.setdefault(row, UsageCounts()).add(counts)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()
