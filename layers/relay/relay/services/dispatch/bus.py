"""The EventBridge entry point: a `Relay Request` event's detail is a request line; the result
goes back on the same bus as a `Relay Response` from source `relay`, detail = the result line.

EventBridge invokes the function asynchronously and retries a failed invoke itself, so a line
that fails past the dispatcher's retries is answered with its error rather than raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from relay.protocol.batch import BatchResponseLine
from relay.services.dispatch.dispatcher import Dispatcher

ENTRY_POINT = "events"
REQUEST_DETAIL_TYPE = "Relay Request"
RESPONSE_DETAIL_TYPE = "Relay Response"
RESPONSE_SOURCE = "relay"


class Bus(Protocol):
    def put(self, source: str, detail_type: str, detail: dict[str, Any]) -> str: ...


class BusWorker:
    def __init__(self, dispatcher: Dispatcher, bus: Bus) -> None:
        self._dispatcher = dispatcher
        self._bus = bus

    async def handle(self, event: Mapping[str, Any]) -> BatchResponseLine:
        """Answer one `Relay Request` event on the bus; returns the result line put there."""
        outcome = await self._dispatcher.dispatch(event.get("detail"), entry_point=ENTRY_POINT)
        detail = outcome.line.model_dump(mode="json")
        await asyncio.to_thread(self._bus.put, RESPONSE_SOURCE, RESPONSE_DETAIL_TYPE, detail)
        return outcome.line
