"""Run one batch line and return its output line; the core of every non-HTTP entry point.

- A line that is not a request line (not JSON, missing fields, an unknown url) is answered with
  an `error` and never run.
- A refusal (4xx) is a `response` with its status and OpenAI's error body, as the route answers.
- A transient failure (429, 5xx, timeout) is tried again with backoff; past the retry budget
  the line is answered with an `error` and `Dispatched.transient` set, so a queue worker can
  choose to hand the message back to its queue instead.
- Anything unexpected is a 500 `response` whose cause goes to the logs, as a route's is.

Usage is attributed to the entry point (`sqs`, `events`, `s3`, `invoke`, `batch`) in the log
line and the EMF metric dimensions. A line run for a key (a Batch API batch runs as the key that
created it) runs as that key's principal, so its model allow-list applies as on HTTP, and its
usage is recorded under that key (`/v1/usage`). The other entry points run as no key (IAM let
the caller in), unless an SQS message names one (`RelayKeyId`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from pydantic import BaseModel, ValidationError

from relay.errors import RelayError
from relay.observability import logger
from relay.protocol.batch import (
    BatchLineError,
    BatchRequestLine,
    BatchResponse,
    BatchResponseLine,
    openai_error_body,
)
from relay.services.dispatch.endpoints import Runner
from relay.services.dispatch.retry import RetryPolicy, is_transient
from relay.services.keys import current
from relay.services.keys.models import Principal
from relay.services.usage import meter as usage_meter
from relay.services.usage.meter import RequestMeter

METRICS_NAMESPACE = "Relay"


@dataclass(frozen=True)
class Dispatched:
    line: BatchResponseLine
    transient: bool = False  # failed with a transient error past the retry budget
    attempts: int = 1


def new_request_id() -> str:
    return "req_" + secrets.token_hex(16)


def _line_id() -> str:
    return "batch_req_" + secrets.token_hex(12)


def _custom_id(raw: Any) -> str | None:
    value = raw.get("custom_id") if isinstance(raw, Mapping) else None
    return value if isinstance(value, str) else None


def invalid_line(raw: Any, message: str, code: str = "invalid_request") -> Dispatched:
    """The answer to something that is not a request line: an error, the line never runs."""
    error = BatchLineError(code=code, message=message)
    return Dispatched(BatchResponseLine(id=_line_id(), custom_id=_custom_id(raw), error=error))


def parse_line(raw: Any) -> BatchRequestLine | str:
    """The request line in `raw` (a dict, or JSON text or bytes), or why it is not one."""
    if isinstance(raw, (str, bytes, bytearray)):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            return f"The line is not JSON: {exc}"
    if not isinstance(raw, Mapping):
        return "A request line is a JSON object with custom_id, method, url and body"
    try:
        return BatchRequestLine.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "line"
        return f"{where}: {first.get('msg', 'invalid value')}"


def _body(model: BaseModel) -> dict[str, Any]:
    # The routes answer without null fields (relay.http.sse.model_json); so does the batch line.
    body: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return body


def _tokens(body: Mapping[str, Any]) -> int:
    usage = body.get("usage")
    total = usage.get("total_tokens") if isinstance(usage, Mapping) else None
    return int(total) if isinstance(total, (int, float)) else 0


class Dispatcher:
    def __init__(
        self,
        endpoints: Mapping[str, Runner],
        retry: RetryPolicy | None = None,
        record_usage: Callable[[RequestMeter], None] | None = None,
    ) -> None:
        self._endpoints = endpoints
        self._retry = retry or RetryPolicy()
        self._record_usage = record_usage

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(self._endpoints)

    async def dispatch(self, raw: Any, *, entry_point: str, principal: Principal | None = None) -> Dispatched:
        """`raw` (a parsed or JSON request line) run through its route's service, as `principal`."""
        line = parse_line(raw)
        if isinstance(line, str):
            return invalid_line(raw, line)
        runner = self._endpoints.get(line.url)
        if runner is None:
            supported = ", ".join(self._endpoints)
            return invalid_line(
                raw, f"url {line.url!r} is not served in a batch line; use one of {supported}"
            )
        started = time.monotonic()
        if principal is None:
            outcome = await self._run(runner, line)
        else:
            meter = RequestMeter(principal.key_id)
            principal_token, meter_token = current.bind(principal), usage_meter.bind(meter)
            try:
                outcome = await self._run(runner, line)
            finally:
                usage_meter.unbind(meter_token)
                current.unbind(principal_token)
            if self._record_usage is not None and (meter.model is not None or meter.by_model):
                await asyncio.to_thread(self._record_usage, meter)
        self._record(outcome, line, entry_point, time.monotonic() - started)
        return outcome

    async def _run(self, runner: Runner, line: BatchRequestLine) -> Dispatched:
        request_id = new_request_id()
        attempt = 1
        while True:
            try:
                answer = await runner(line.body)
            except RelayError as exc:
                if is_transient(exc) and attempt < self._retry.attempts:
                    await self._retry.sleep(self._retry.delay(attempt, exc))
                    attempt += 1
                    continue
                return self._refused(line, request_id, exc, attempt)
            except Exception:
                logger.exception("batch line failed", extra={"custom_id": line.custom_id, "url": line.url})
                error = RelayError("Internal error; see the request id")
                return self._answer(
                    line, request_id, 500, openai_error_body(error.message, error.type, None, None), attempt
                )
            return self._answer(line, request_id, 200, _body(answer), attempt)

    def _refused(self, line: BatchRequestLine, request_id: str, exc: RelayError, attempts: int) -> Dispatched:
        if is_transient(exc):
            error = BatchLineError(code=exc.code or "server_error", message=exc.message)
            answered = BatchResponseLine(id=_line_id(), custom_id=line.custom_id, error=error)
            return Dispatched(answered, transient=True, attempts=attempts)
        body = openai_error_body(exc.message, exc.type, exc.param, exc.code)
        return self._answer(line, request_id, exc.status, body, attempts)

    @staticmethod
    def _answer(
        line: BatchRequestLine, request_id: str, status: int, body: dict[str, Any], attempts: int
    ) -> Dispatched:
        response = BatchResponse(status_code=status, request_id=request_id, body=body)
        return Dispatched(
            BatchResponseLine(id=_line_id(), custom_id=line.custom_id, response=response), attempts=attempts
        )

    @staticmethod
    def _record(outcome: Dispatched, line: BatchRequestLine, entry_point: str, seconds: float) -> None:
        response = outcome.line.response
        status = response.status_code if response is not None else 0
        tokens = _tokens(response.body) if response is not None else 0
        model = line.body.get("model")
        logger.info(
            "batch line answered",
            extra={
                "entry_point": entry_point,
                "url": line.url,
                "model": model if isinstance(model, str) else None,
                "custom_id": line.custom_id,
                "status": status,
                "attempts": outcome.attempts,
                "tokens": tokens,
            },
        )
        # Ephemeral: its own metric set and dimensions, so lines answered concurrently (and the
        # HTTP middleware's metrics in the same process) never share or clear each other's.
        emf = EphemeralMetrics(namespace=METRICS_NAMESPACE, service="relay")
        emf.add_dimension(name="EntryPoint", value=entry_point)
        emf.add_dimension(name="Endpoint", value=line.url)
        emf.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        emf.add_metric(name="Tokens", unit=MetricUnit.Count, value=tokens)
        emf.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=seconds * 1000)
        emf.flush_metrics()
