"""The one line each HTTP request writes: its access log line and its EMF record at once.

RequestContextMiddleware runs around small ASGI apps (the metering's `serve_metered` among
them, as the auth gate calls it); the Powertools handler's stream is swapped for a buffer, so
every line this process would print is parsed here.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from relay.errors import RateLimitError
from relay.http.metering import serve_metered
from relay.http.middleware import RequestContextMiddleware
from relay.observability import add_key_metrics, logger, reload_environment
from relay.services.keys.models import Principal
from relay.services.usage import meter as usage_meter

pytestmark = pytest.mark.unit

CHAT = "/v1/chat/completions"
KEY_ID = "k0123456789abcdef"
SECRET = "sk-relay-k0123456789abcdef-not-to-be-printed"


class Lines:
    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def all(self) -> list[dict[str, Any]]:
        text = self.buffer.getvalue()
        assert text.endswith("\n") or not text
        return [json.loads(line) for line in text.splitlines()]  # each line one JSON object

    def one(self) -> dict[str, Any]:
        lines = self.all()
        assert len(lines) == 1, lines
        return lines[0]


@pytest.fixture()
def lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lines]:
    for name in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV", "_X_AMZN_TRACE_ID"):
        monkeypatch.delenv(name, raising=False)
    reload_environment()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    before = handler.setStream(buffer)
    level = logger.log_level
    logger.setLevel("INFO")
    try:
        yield Lines(buffer)
    finally:
        logger.setLevel(level)
        handler.setStream(before)
        reload_environment()


def _emf(record: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Checks `record` against the EMF specification; returns each dimension set's (metric, unit)s."""
    aws = record["_aws"]
    assert isinstance(aws["Timestamp"], int) and abs(aws["Timestamp"] - time.time() * 1000) < 60_000
    declared: dict[str, list[tuple[str, str]]] = {}
    for directive in aws["CloudWatchMetrics"]:
        assert directive["Namespace"] == "Relay"
        for dimensions in directive["Dimensions"]:
            for dimension in dimensions:
                assert isinstance(record[dimension], str)  # a target member of the root
        for metric in directive["Metrics"]:
            value = record[metric["Name"]]
            assert isinstance(value, int | float) and not isinstance(value, bool)
        key = ",".join(directive["Dimensions"][0])
        declared[key] = [(metric["Name"], metric["Unit"]) for metric in directive["Metrics"]]
    return declared


def _scope(method: str = "POST", path: str = CHAT, headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(b"authorization", f"Bearer {SECRET}".encode()), *(headers or [])],
    }


def _call(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(RequestContextMiddleware(app, max_body_bytes=1024)(scope, receive, send))
    return sent


def _answering(status: int, tokens: int = 0) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if tokens:
            usage_meter.count_tokens("some-model", input_tokens=tokens - 1, output_tokens=1)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


class _Usage:
    def __init__(self) -> None:
        self.recorded: list[Any] = []

    def record_later(self, meter: Any) -> None:
        self.recorded.append(meter)


def _metered(inner: Any, principal: Principal, services: Any) -> Any:
    async def gate(scope: Any, receive: Any, send: Any) -> None:  # as the auth gate calls it
        await serve_metered(inner, scope, receive, send, services, principal)

    return gate


def test_one_line_is_the_access_log_line_and_the_request_metrics(lines: Lines) -> None:
    sent = _call(_answering(200), _scope("GET", "/v1/models", [(b"x-request-id", b"req-line-1")]))
    line = lines.one()
    assert sent[0]["status"] == 200
    assert line["level"] == "INFO" and line["message"] == "request"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}[+-]\d{4}", line["timestamp"])
    assert line["service"] == "relay"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/models", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["correlation_id"] == "req-line-1"
    assert _emf(line) == {"service": [("Requests", "Count"), ("Latency", "Milliseconds")]}
    assert (line["Requests"], line["Latency"]) == (1, line["duration_ms"])
    assert "ServerErrors" not in line and "KeyId" not in line
    assert SECRET not in lines.buffer.getvalue()


def test_the_request_id_is_the_correlation_id_or_a_new_one(lines: Lines) -> None:
    given = _call(_answering(200), _scope(headers=[(b"x-request-id", b"client.id:7")]))
    made = _call(_answering(200), _scope(headers=[(b"x-request-id", b"not a valid id")]))
    first, second = lines.all()
    assert first["correlation_id"] == "client.id:7" == dict(given[0]["headers"])[b"x-request-id"].decode()
    assert re.fullmatch(r"[0-9a-f]{32}", second["correlation_id"])
    assert second["correlation_id"] == dict(made[0]["headers"])[b"x-request-id"].decode()


def test_a_server_error_counts_and_its_exception_keeps_the_correlation_id(lines: Lines) -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("a bug")

    sent = _call(broken, _scope(headers=[(b"x-request-id", b"req-broken")]))
    exception, line = lines.all()  # the traceback's line first, through the Powertools logger
    assert sent[0]["status"] == 500
    assert exception["message"] == "unhandled error" and exception["level"] == "ERROR"
    assert exception["correlation_id"] == "req-broken" and "_aws" not in exception
    assert (line["status"], line["correlation_id"]) == (500, "req-broken")
    assert _emf(line) == {
        "service": [("Requests", "Count"), ("Latency", "Milliseconds"), ("ServerErrors", "Count")]
    }
    assert line["ServerErrors"] == 1


@pytest.mark.parametrize(
    ("status", "outcome"), [(200, None), (400, "KeyErrors"), (429, "KeyThrottles"), (502, "KeyErrors")]
)
def test_a_metered_request_carries_its_key_metrics_on_the_same_line(
    lines: Lines, status: int, outcome: str | None
) -> None:
    services = SimpleNamespace(usage=_Usage())
    principal = Principal(key_id=KEY_ID, is_admin=False)
    _call(_metered(_answering(status, tokens=7), principal, services), _scope())
    line = lines.one()
    assert line["status"] == status and line["message"] == "request"
    expected_key = [("KeyRequests", "Count"), ("KeyTokens", "Count")] + (
        [(outcome, "Count")] if outcome else []
    )
    declared = _emf(line)
    assert declared["KeyId,service"] == expected_key
    assert declared["service"][:2] == [("Requests", "Count"), ("Latency", "Milliseconds")]
    assert (line["KeyId"], line["service"], line["KeyRequests"], line["KeyTokens"]) == (KEY_ID, "relay", 1, 7)
    if outcome:
        assert line[outcome] == 1
    assert len(services.usage.recorded) == 1  # the usage still goes to the buffer
    assert SECRET not in lines.buffer.getvalue()


def test_a_refused_admission_is_a_throttle_of_the_key(lines: Lines) -> None:
    def refuse(principal: Principal) -> None:
        raise RateLimitError("Rate limit reached")

    services = SimpleNamespace(usage=_Usage(), limiter=SimpleNamespace(admit_local=refuse))
    principal = Principal(key_id=KEY_ID, is_admin=False, policy=SimpleNamespace(limited=True))  # type: ignore[arg-type]
    sent = _call(_metered(_answering(200), principal, services), _scope())
    line = lines.one()
    assert sent[0]["status"] == 429 and line["status"] == 429
    assert _emf(line)["KeyId,service"] == [("KeyThrottles", "Count")]
    assert (line["KeyId"], line["KeyThrottles"]) == (KEY_ID, 1)
    assert "KeyRequests" not in line and services.usage.recorded == []


def test_with_info_off_the_line_still_carries_the_metrics(lines: Lines) -> None:
    logger.setLevel("WARNING")
    services = SimpleNamespace(usage=_Usage())
    _call(_metered(_answering(503, tokens=2), Principal(key_id=KEY_ID, is_admin=False), services), _scope())
    line = lines.one()
    assert "message" not in line and "level" not in line and "path" not in line
    assert _emf(line) == {
        "service": [("Requests", "Count"), ("Latency", "Milliseconds"), ("ServerErrors", "Count")],
        "KeyId,service": [("KeyRequests", "Count"), ("KeyTokens", "Count"), ("KeyErrors", "Count")],
    }
    assert (line["service"], line["KeyId"], line["KeyTokens"], line["ServerErrors"]) == (
        "relay",
        KEY_ID,
        2,
        1,
    )


def test_with_metrics_disabled_the_line_is_the_access_log_line_alone(
    lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    reload_environment()
    _call(
        _metered(_answering(200), Principal(key_id=KEY_ID, is_admin=False), SimpleNamespace(usage=_Usage())),
        _scope(),
    )
    line = lines.one()
    assert line["message"] == "request" and line["status"] == 200
    assert not {"_aws", "Requests", "Latency", "KeyId", "KeyRequests"} & set(line)
    logger.setLevel("WARNING")
    _call(_answering(200), _scope())
    assert len(lines.all()) == 1  # neither a log line nor metrics: nothing at all


def test_the_line_keeps_the_logger_keys_and_the_trace_id(
    lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    )
    logger.append_keys(cold_start=True, function_request_id="invocation-1")
    try:
        _call(_answering(200), _scope())
    finally:
        logger.remove_keys(["cold_start", "function_request_id"])
    line = lines.one()
    assert (line["cold_start"], line["function_request_id"]) == (True, "invocation-1")
    assert line["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert "cold_start" not in _emf(line)["service"]


def test_key_metrics_outside_the_middleware_are_a_line_of_their_own(lines: Lines) -> None:
    add_key_metrics({"type": "http"}, KEY_ID, [("KeyRequests", 1.0), ("KeyTokens", 5.0)])
    line = lines.one()
    assert _emf(line) == {"KeyId,service": [("KeyRequests", "Count"), ("KeyTokens", "Count")]}
    assert (line["KeyId"], line["service"], line["KeyRequests"], line["KeyTokens"]) == (KEY_ID, "relay", 1, 5)
