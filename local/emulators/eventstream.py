"""AWS event-stream binary framing (application/vnd.amazon.eventstream), as Bedrock and
SageMaker runtime send streams: prelude with CRC, string headers, payload, message CRC."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

_STRING = 7


def _headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack("!B", len(raw_name)) + raw_name
        out += struct.pack("!BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: total length, headers length, prelude CRC, ..., message CRC."""
    raw_headers = _headers(headers)
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + raw_headers + payload
    return body + struct.pack("!I", zlib.crc32(body) & 0xFFFFFFFF)


def event(event_type: str, payload: Any) -> bytes:
    """A JSON event, e.g. Bedrock's `contentBlockDelta` or SageMaker's `PayloadPart`."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return encode_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        data,
    )


def exception(exception_type: str, message: str) -> bytes:
    """A modelled error sent inside the stream (botocore raises it as a ClientError)."""
    return encode_message(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": message}).encode(),
    )
