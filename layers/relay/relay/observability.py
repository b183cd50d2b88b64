"""Powertools logger and tracer, built once per process, and the one line each HTTP request writes.

The request id lives in a context variable so concurrent requests on one uvicorn worker
never see each other's correlation ids (Logger's appended keys are process-global).

Each HTTP request ends in one JSON line (`request_line`): the access log line, with the keys
the Powertools logger would give it, and at once the request's EMF record (CloudWatch embedded
metric format): `Requests`, `Latency` and `ServerErrors` with the `service` dimension and, for a
metered inference request, its key's `KeyRequests`, `KeyTokens`, `KeyThrottles` or `KeyErrors`
with the `KeyId` and `service` dimensions, as a second metric directive of the same record. It
is built as one dict and written with one write, instead of a formatted log record and two EMF
flushes of Powertools' metrics (tens of microseconds each). Every other log line goes through
`logger` as before.

The tracer is built on first use: importing the X-Ray SDK costs ~200 ms of cold start, and
only the buffered ControlPlane handler (where Lambda hands over a trace segment) uses it.
Under the Lambda Web Adapter the app runs in its own process without that segment, so the
DataPlane relies on Lambda's active tracing of the invocation instead.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterable, MutableMapping
from contextvars import ContextVar
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, THREAD_LOCAL_KEYS

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

# The names the dashboards (template.yaml) query: namespace `Relay`, dimension `service`.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "relay"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Relay"

request_id_var: ContextVar[str] = ContextVar("relay_request_id", default="")


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = request_id_var.get() or None
        return True


logger = Logger(service=SERVICE)
logger.addFilter(_CorrelationFilter())

# The request line goes to the logger's own handler stream, under its lock: in order with the
# other log lines, and flushed as each of them is (stdout is a pipe under the Web Adapter).
_handler = logger.registered_handler
_stdlib_logger = logging.getLogger(SERVICE)  # the logging.Logger Powertools' Logger wraps

_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode
_RESERVED = frozenset((*RESERVED_LOG_ATTRS, "message"))
_TRUE = frozenset(("1", "y", "yes", "t", "true", "on"))

_REQUEST_METRICS = [{"Name": "Requests", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}]
_SERVER_ERRORS = {"Name": "ServerErrors", "Unit": "Count"}
# Each record's CloudWatchMetrics array by its shape (a server error or not, the key's metric
# names and units), encoded once: the constant half of the line costs nothing per request.
_directives: dict[tuple[bool | str | None, ...], str] = {}

# The key under which RequestContextMiddleware puts the request's `KeyMetrics` in the ASGI scope.
KEY_METRICS_SCOPE = "relay.key_metrics"


class KeyMetrics:
    """One request's per-key metrics (of its one key), gathered by the metering for its line."""

    __slots__ = ("key_id", "unit", "values")

    def __init__(self) -> None:
        self.key_id = ""
        self.values: dict[str, float] = {}
        self.unit = "Count"

    def add(self, key_id: str, values: Iterable[tuple[str, float]]) -> None:
        self.key_id = key_id
        for name, value in values:
            self.values[name] = self.values.get(name, 0) + value


def add_key_metrics(
    scope: MutableMapping[str, Any], key_id: str, values: Iterable[tuple[str, float]]
) -> None:
    """The key's metrics onto the request's line; a standalone EMF line outside the middleware."""
    gathered = scope.get(KEY_METRICS_SCOPE)
    if isinstance(gathered, KeyMetrics):
        gathered.add(key_id, values)
    else:
        key_metrics(key_id, values)


def key_metrics(key_id: str, values: Iterable[tuple[str, float]], unit: str | Enum = "Count") -> None:
    """One EMF line of `values` with the `KeyId` dimension (the dashboard's per-key widgets)."""
    if metrics_disabled():
        return
    gathered = KeyMetrics()
    gathered.add(key_id, values)
    gathered.unit = unit.value if isinstance(unit, Enum) else unit
    fields = {"service": SERVICE, "KeyId": key_id, **gathered.values}
    _write(_with_metrics(fields, time.time(), None, gathered))


def request_line(
    method: str | None,
    path: str | None,
    status: int,
    duration_ms: float,
    request_id: str,
    key: KeyMetrics | None = None,
) -> None:
    """The request's one line: its access log fields (when INFO is on) and its EMF metrics.

    The text is put together here rather than by `json.dumps` of a dict (a third of the cost):
    the logger's constant keys are encoded once, and only what came with the request (method,
    path, the request id, the key id) goes through JSON's string escaping."""
    log = _stdlib_logger.isEnabledFor(logging.INFO)
    emf = not metrics_disabled()
    if not (log or emf):
        return
    now = time.time()
    parts: list[str] = []
    if log:
        # The keys and order of Powertools' formatter: level, message, timestamp, then the
        # logger's keys (service, the Lambda context's cold_start and function_* keys, ...),
        # the extra fields, the correlation id and X-Ray's trace id. Values of None are left out.
        parts.append(f'"level":"INFO","message":"request","timestamp":"{_timestamp(now)}"')
        parts.append(_logger_keys(emf))
        if method is not None:
            parts.append(f'"method":{_string(method)}')
        if path is not None:
            parts.append(f'"path":{_string(path)}')
        parts.append(
            f'"status":{int(status)},"duration_ms":{duration_ms!r},"correlation_id":{_string(request_id)}'
        )
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            parts.append(f'"xray_trace_id":{_string(trace.split(";")[0].replace("Root=", ""))}')
    if not emf:
        _write("{" + ",".join(part for part in parts if part) + "}")
        return
    failed = status >= 500 or status == 0
    parts.append(f'"service":{_SERVICE_JSON},"Requests":1,"Latency":{duration_ms!r}')
    if failed:
        parts.append('"ServerErrors":1')
    if key is not None and key.values:
        parts.append(f'"KeyId":{_string(key.key_id)}')
        parts.extend(f'"{name}":{value!r}' for name, value in key.values.items())
    else:
        key = None
    parts.append(_aws(now, failed, key))
    _write("{" + ",".join(part for part in parts if part) + "}")


_string = json.encoder.encode_basestring_ascii
_SERVICE_JSON = _string(SERVICE)
_logger_keys_cache: dict[tuple[bool, tuple[tuple[str, Any], ...]], str] = {}


def _logger_keys(emf: bool) -> str:
    """The logger's own keys (its format's and the thread-local ones), encoded once per set;
    `service` is left to the metrics when they are on, so that it appears once."""
    log_format = getattr(_handler.formatter, "log_format", None) or {}
    items = (*log_format.items(), *THREAD_LOCAL_KEYS.get().items())
    cache_key = (emf, items)
    try:
        return _logger_keys_cache[cache_key]
    except KeyError:
        pass
    except TypeError:  # an unhashable value: encoded each time
        return _encode_keys(emf, items)
    if len(_logger_keys_cache) > 64:
        _logger_keys_cache.clear()
    encoded = _logger_keys_cache[cache_key] = _encode_keys(emf, items)
    return encoded


def _encode_keys(emf: bool, items: tuple[tuple[str, Any], ...]) -> str:
    fields = {
        name: value
        for name, value in items
        if value is not None and name not in _RESERVED and not (emf and name == "service")
    }
    return _encode(fields)[1:-1]


def _aws(now: float, failed: bool, key: KeyMetrics | None) -> str:
    shape: tuple[bool | str | None, ...] = (failed, key.unit, *key.values) if key else (failed,)
    directives = _directives.get(shape)
    if directives is None:
        directives = _directives[shape] = _encode(_declared(failed, key))
    return f'"_aws":{{"Timestamp":{int(now * 1000)},"CloudWatchMetrics":{directives}}}'


def _declared(failed: bool | None, key: KeyMetrics | None) -> list[dict[str, Any]]:
    declared: list[dict[str, Any]] = []
    if failed is not None:
        metrics = [*_REQUEST_METRICS, _SERVER_ERRORS] if failed else _REQUEST_METRICS
        declared.append({"Namespace": NAMESPACE, "Dimensions": [["service"]], "Metrics": metrics})
    if key:
        metrics = [{"Name": name, "Unit": key.unit} for name in key.values]
        declared.append({"Namespace": NAMESPACE, "Dimensions": [["KeyId", "service"]], "Metrics": metrics})
    return declared


_metrics_off: bool | None = None


def metrics_disabled() -> bool:
    """Powertools' rule: POWERTOOLS_METRICS_DISABLED, or POWERTOOLS_DEV without that variable.

    Read once per process (two lookups of absent variables cost ~5 µs a request);
    `reload_environment` reads them again after a test or the local stack changed them."""
    global _metrics_off
    if _metrics_off is None:
        _metrics_off = _read_metrics_disabled()
    return _metrics_off


def reload_environment() -> None:
    global _metrics_off
    _metrics_off = None


def _read_metrics_disabled() -> bool:
    disabled = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    if disabled is not None:
        return disabled.lower() in _TRUE
    dev = os.environ.get("POWERTOOLS_DEV")
    return dev is not None and dev.lower() in _TRUE


def _with_metrics(fields: dict[str, Any], now: float, failed: bool | None, key: KeyMetrics | None) -> str:
    """`fields` (holding the metric values and dimensions) as JSON, with the `_aws` member that
    declares them: the request's metrics (unless `failed` is None) and the key's (if any)."""
    shape = (failed, key.unit, *key.values) if key else (failed,)
    directives = _directives.get(shape)
    if directives is None:
        directives = _directives[shape] = _encode(_declared(failed, key))
    head = _encode(fields)
    return f'{head[:-1]},"_aws":{{"Timestamp":{int(now * 1000)},"CloudWatchMetrics":{directives}}}}}'


_second = -1
_second_text = ""
_zone = ""


def _timestamp(now: float) -> str:
    """Powertools' default: local time as `2021-05-03 10:20:19,650+0000` (the strftime once a second)."""
    global _second, _second_text, _zone
    second = int(now)
    if second != _second:
        parts = time.localtime(second)
        _second_text = time.strftime("%Y-%m-%d %H:%M:%S", parts)
        _zone = time.strftime("%z", parts)
        _second = second
    return f"{_second_text},{int((now - second) * 1000):03d}{_zone}"


def _write(text: str) -> None:
    stream = getattr(_handler, "stream", None) or sys.stdout
    _handler.acquire()
    try:
        stream.write(text + "\n")
        stream.flush()
    except (OSError, ValueError):  # a closed or broken stream: as logging does, the request goes on
        pass
    finally:
        _handler.release()


@lru_cache(maxsize=1)
def get_tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)
