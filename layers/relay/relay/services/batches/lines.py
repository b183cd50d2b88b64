"""A batch's lines on the request queue: run each, keep its result, count it on the batch.

A line carries `RelayBatch` (`<owner>/<batch id>`), `RelayLine` and `RelayModel` attributes.
A transient failure is not a failed line: the line is sent again with a growing delay (SQS
DelaySeconds, at most 15 minutes) until it succeeds or the batch stops. A line of a batch that
stopped (cancelled, expired) is dropped and counted as skipped, so the runner's accounting of
lines in flight still drains.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from relay.observability import logger
from relay.services.batches.models import results_prefix
from relay.services.batches.repository import BatchRepository
from relay.services.dispatch.dispatcher import Dispatched, Dispatcher, invalid_line
from relay.services.keys.models import ADMIN, Principal
from relay.services.keys.repository import ApiKeyRepository

ENTRY_POINT = "batch"
BATCH_ATTRIBUTE = "RelayBatch"
LINE_ATTRIBUTE = "RelayLine"
MODEL_ATTRIBUTE = "RelayModel"
ATTEMPT_ATTRIBUTE = "RelayAttempt"
MAX_DELAY_SECONDS = 900  # SQS's DelaySeconds ceiling
STATUS_TTL_SECONDS = 1.0


class Sender(Protocol):
    def send(
        self,
        queue_url: str,
        body: str,
        attributes: Mapping[str, str] | None = None,
        *,
        delay_seconds: int = 0,
    ) -> str: ...


class Writer(Protocol):
    def create(self, key: str, body: bytes, *, content_type: str) -> bool:
        """Write `key` unless it exists; False when it did."""
        ...


def attribute(record: Mapping[str, Any], name: str) -> str | None:
    value = ((record.get("messageAttributes") or {}).get(name) or {}).get("stringValue")
    return value if isinstance(value, str) and value else None


def usage_tokens(body: Mapping[str, Any]) -> tuple[int, int]:
    usage = body.get("usage") if isinstance(body, Mapping) else None
    if not isinstance(usage, Mapping):
        return 0, 0
    prompt = usage.get("prompt_tokens", usage.get("input_tokens", 0))
    completion = usage.get("completion_tokens", usage.get("output_tokens", 0))
    return int(prompt or 0), int(completion or 0)


def _loose_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def key_principals(keys: ApiKeyRepository) -> Callable[[str], Principal | None]:
    """The principal a batch's lines run as: the key that created it, None once it is revoked."""

    def principal(key_id: str) -> Principal | None:
        if key_id == ADMIN.key_id:
            return ADMIN
        record = keys.get(key_id)
        if record is None or record.policy.expired(time.time()):
            return None
        return Principal(key_id=key_id, is_admin=record.policy.role == "admin", policy=record.policy)

    return principal


def result_key(owner: str, batch_id: str, line: int) -> str:
    return f"{results_prefix(owner, batch_id)}{line:08d}.json"


class BatchLines:
    def __init__(
        self,
        dispatcher: Dispatcher,
        batches: BatchRepository,
        results: Writer,
        queues: Sender,
        queue_url: str,
        retry_delay: int,
        principals: Callable[[str], Principal | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dispatcher = dispatcher
        self._batches = batches
        self._results = results
        self._queues = queues
        self._queue_url = queue_url
        self._retry_delay = retry_delay
        self._principals = principals
        self._clock = clock
        self._statuses: dict[tuple[str, str], tuple[float, str | None]] = {}

    async def handle(self, record: Mapping[str, Any]) -> None:
        owner, _, batch_id = str(attribute(record, BATCH_ATTRIBUTE)).partition("/")
        line = int(attribute(record, LINE_ATTRIBUTE) or 0)
        model = attribute(record, MODEL_ATTRIBUTE) or ""
        # The storage calls block: run them off the event loop, where the batch's other lines run.
        status = await asyncio.to_thread(self._status, owner, batch_id)
        if status is None:
            logger.warning("line of an unknown batch dropped", extra={"batch_id": batch_id, "line": line})
            return
        if status != "in_progress":
            await asyncio.to_thread(self._batches.answered, owner, batch_id, model, "skipped", 0, 0)
            return
        # As the key that created the batch: its model allow-list applies, its usage is its own.
        principal = await asyncio.to_thread(self._principals, owner)
        body_text = record.get("body", "")
        outcome: Dispatched
        if principal is None:
            message = "The API key that created this batch was revoked or has expired"
            outcome = invalid_line(_loose_json(body_text), message, code="invalid_api_key")
        else:
            outcome = await self._dispatcher.dispatch(body_text, entry_point=ENTRY_POINT, principal=principal)
        if outcome.transient:
            await asyncio.to_thread(self._again, record, line)
            return
        body = outcome.line.response.body if outcome.line.response is not None else {}
        prompt, completion = usage_tokens(body)
        first = await asyncio.to_thread(
            self._results.create,
            result_key(owner, batch_id, line),
            outcome.line.model_dump_json().encode(),
            content_type="application/json",
        )
        if not first:
            # SQS delivers at least once: a line answered twice is counted once.
            logger.info("batch line answered again; counted once", extra={"batch_id": batch_id, "line": line})
            return
        state = "completed" if outcome.line.succeeded else "failed"
        await asyncio.to_thread(self._batches.answered, owner, batch_id, model, state, prompt, completion)

    def _status(self, owner: str, batch_id: str) -> str | None:
        """The batch's status, read at most once a second per batch: the lines of one batch
        arrive together, and a cancel may take that second to stop them."""
        now = self._clock()
        cached = self._statuses.get((owner, batch_id))
        if cached is not None and now - cached[0] < STATUS_TTL_SECONDS:
            return cached[1]
        batch = self._batches.get(owner, batch_id)
        status = batch.status if batch is not None else None
        self._statuses[(owner, batch_id)] = (now, status)
        return status

    def _again(self, record: Mapping[str, Any], line: int) -> None:
        attempt = int(attribute(record, ATTEMPT_ATTRIBUTE) or 1)
        attributes = {
            name: value
            for name in (BATCH_ATTRIBUTE, LINE_ATTRIBUTE, MODEL_ATTRIBUTE)
            if (value := attribute(record, name)) is not None
        }
        attributes[ATTEMPT_ATTRIBUTE] = str(attempt + 1)
        delay = min(MAX_DELAY_SECONDS, self._retry_delay * 2 ** (attempt - 1))
        self._queues.send(self._queue_url, str(record.get("body", "")), attributes, delay_seconds=delay)
        logger.info("batch line throttled; sent again later", extra={"line": line, "delay": delay})
