"""EventBridge at the edge: put one event on a bus, errors mapped by code once.

PutEvents answers 200 even when it refuses an entry (`FailedEntryCount`); a refused entry is
mapped here too, by its error code, so no caller mistakes it for a delivered event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws_control import THROTTLED, raise_control_error
from relay.errors import RateLimitError, RelayError, ServiceUnavailableError
from relay.observability import logger


class EventBus:
    def __init__(self, client: Callable[[], Any], bus_name: str) -> None:
        self._client = client
        self.bus_name = bus_name

    def put(self, source: str, detail_type: str, detail: dict[str, Any]) -> str:
        """Put one event; returns its id."""
        entry = {
            "EventBusName": self.bus_name,
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, separators=(",", ":")),
        }
        try:
            answer = self._client().put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as exc:
            raise_control_error(exc, "PutEvents")
        result = answer["Entries"][0]
        if "EventId" in result:
            return str(result["EventId"])
        code = str(result.get("ErrorCode", ""))
        if code in THROTTLED:
            raise RateLimitError("PutEvents was throttled by AWS; try again shortly", retry_after=2)
        if code == "InternalFailure":
            raise ServiceUnavailableError("PutEvents is unavailable; try again shortly", retry_after=2)
        logger.error("PutEvents refused an entry", extra={"code": code, "bus": self.bus_name})
        raise RelayError(f"PutEvents refused the event ({code or 'unknown error'})")


class InMemoryEventBus:
    def __init__(self, bus_name: str = "memory") -> None:
        self.bus_name = bus_name
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def put(self, source: str, detail_type: str, detail: dict[str, Any]) -> str:
        self.events.append((source, detail_type, detail))
        return f"event-{len(self.events)}"
