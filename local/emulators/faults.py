"""Fault injection and latency for the emulators, shared by every emulated service.

A request asks for a fault by carrying `[[fault:<name>]]` anywhere in its body (a prompt,
an embedding input, a rerank query), so the real SDKs need no special headers.
`[[delay:<ms>]]` adds latency before the answer (or before the first streamed event).
Process-wide latency for benchmarks comes from RELAY_EMULATOR_DELAY_MS (before the answer
or first event) and RELAY_EMULATOR_CHUNK_DELAY_MS (between streamed events).

Fault names: throttle, quota, validation, access, not-found, timeout, model-error,
not-ready, unavailable, internal, dependency (SageMaker), and for streams: stream-error
(a modelled exception event midway) and stream-break (the connection cut midway).
"""

from __future__ import annotations

import os
import re
import time

from local.emulators.server import Response, aws_error

_FAULT = re.compile(rb"\[\[fault:([a-z-]+)\]\]")
_DELAY = re.compile(rb"\[\[delay:(\d{1,6})\]\]")
STREAM_FAULTS = ("stream-error", "stream-break")

# name -> (HTTP status, error code) as each service really answers.
BEDROCK_FAULTS: dict[str, tuple[int, str]] = {
    "throttle": (429, "ThrottlingException"),
    "quota": (400, "ServiceQuotaExceededException"),
    "validation": (400, "ValidationException"),
    "access": (403, "AccessDeniedException"),
    "not-found": (404, "ResourceNotFoundException"),
    "timeout": (408, "ModelTimeoutException"),
    "model-error": (424, "ModelErrorException"),
    "not-ready": (429, "ModelNotReadyException"),
    "unavailable": (503, "ServiceUnavailableException"),
    "internal": (500, "InternalServerException"),
}
SAGEMAKER_FAULTS: dict[str, tuple[int, str]] = {
    "throttle": (400, "ThrottlingException"),
    "validation": (400, "ValidationError"),
    "access": (403, "AccessDeniedException"),
    "not-found": (400, "ValidationError"),
    "model-error": (424, "ModelError"),
    "not-ready": (429, "ModelNotReadyException"),
    "unavailable": (503, "ServiceUnavailable"),
    "internal": (500, "InternalFailure"),
    "dependency": (530, "InternalDependencyException"),
}


def requested_fault(body: bytes) -> str | None:
    found = _FAULT.search(body)
    return found.group(1).decode() if found else None


def fault_response(body: bytes, table: dict[str, tuple[int, str]]) -> Response | None:
    """The error response a request asked for, or None (stream faults are the stream's job)."""
    name = requested_fault(body)
    if name is None or name in STREAM_FAULTS:
        return None
    status, code = table.get(name, (500, "InternalServerException"))
    return aws_error(status, code, f"Emulated fault: {name}")


def first_delay(body: bytes) -> float:
    """Seconds to wait before the answer or first streamed event."""
    found = _DELAY.search(body)
    ms = int(found.group(1)) if found else int(os.environ.get("RELAY_EMULATOR_DELAY_MS", "0") or 0)
    return ms / 1000.0


def chunk_delay() -> float:
    return int(os.environ.get("RELAY_EMULATOR_CHUNK_DELAY_MS", "0") or 0) / 1000.0


def sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)
