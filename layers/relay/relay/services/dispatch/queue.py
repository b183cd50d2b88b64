"""The SQS request queue: each message is a request line; each result goes to a reply queue.

- The result goes to the stack's response queue, or to the queue named by the message
  attribute `ReplyTo` (a queue ARN) when the stack allows that queue; any other `ReplyTo` is
  answered on the response queue with a `reply_to_not_allowed` error, and the line never runs
  (an unlisted queue must not receive model output, nor cost a model call).
- A transient failure past the dispatcher's own retries hands the message back (`RetryLater`)
  and sets its visibility to a backoff delay (`retry_delay` times the receive count), so SQS
  shows it again then rather than after the whole visibility timeout. On its last allowed receive it is answered
  with the error instead, so a caller always gets an answer; the DLQ keeps only messages whose
  handling itself failed (the reply could not be sent, the worker crashed or timed out).
- Every reply carries `RequestMessageId` and `CustomId` attributes for correlation.
- A message attribute `RelayKeyId` runs the line as that API key (its model allow-list, its
  usage in `/v1/usage`); a key that does not exist or has expired is an `invalid_api_key` error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from relay.observability import logger
from relay.protocol.batch import BatchResponseLine
from relay.services.dispatch.dispatcher import Dispatched, Dispatcher, invalid_line
from relay.services.keys.models import Principal

ENTRY_POINT = "sqs"
REPLY_TO = "ReplyTo"
# A key id (not the secret: IAM already let the sender in) the line runs as: its model allow-list
# applies and its usage is recorded under it.
KEY_ID = "RelayKeyId"
BATCH_LINE = "RelayBatch"  # relay.services.batches.lines.BATCH_ATTRIBUTE
MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's own ceiling


class RetryLater(Exception):
    """The line failed transiently and the queue may still deliver it again."""


class Queues(Protocol):
    def url_of(self, arn: str) -> str: ...
    def send(
        self,
        queue_url: str,
        body: str,
        attributes: Mapping[str, str] | None = None,
        *,
        delay_seconds: int = 0,
    ) -> str: ...
    def delay(self, queue_url: str, receipt_handle: str, seconds: int) -> None: ...


def _attribute(record: Mapping[str, Any], name: str) -> str | None:
    attributes = record.get("messageAttributes") or {}
    value = attributes.get(name) or {}
    found = value.get("stringValue")
    return found if isinstance(found, str) and found else None


def _receive_count(record: Mapping[str, Any]) -> int:
    raw = (record.get("attributes") or {}).get("ApproximateReceiveCount", "1")
    return int(raw) if str(raw).isdigit() else 1


def result_json(line: BatchResponseLine) -> str:
    return line.model_dump_json()


@dataclass(frozen=True)
class QueueConfig:
    response_queue_url: str
    allowed_reply_arns: Collection[str]
    max_receives: int  # the request queue's maxReceiveCount (its redrive policy)
    request_queue_url: str
    retry_delay: int  # seconds before the first redelivery of a transient failure


class BatchLineHandler(Protocol):
    async def handle(self, record: Mapping[str, Any]) -> None: ...


class QueueWorker:
    def __init__(
        self,
        dispatcher: Dispatcher,
        queues: Queues,
        config: QueueConfig,
        batch_lines: BatchLineHandler | None = None,
        principals: Callable[[str], Principal | None] | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._queues = queues
        self._config = config
        self._batch_lines = batch_lines
        self._principals = principals

    async def handle(self, record: Mapping[str, Any]) -> None:
        """Answer one SQS record; raises RetryLater to hand it back to the queue."""
        if self._batch_lines is not None and _attribute(record, BATCH_LINE) is not None:
            # A line of the Batch API: its result is kept with the batch, not sent to a reply queue.
            await self._batch_lines.handle(record)
            return
        body = record.get("body", "")
        reply_to = _attribute(record, REPLY_TO)
        reply_url = self._config.response_queue_url
        if reply_to is not None and reply_to not in self._config.allowed_reply_arns:
            outcome = invalid_line(
                _loose_json(body),
                f"ReplyTo {reply_to!r} is not a queue this stack answers on; "
                "the allowed ones are the stack parameter ReplyQueueArns",
                code="reply_to_not_allowed",
            )
        else:
            if reply_to is not None:
                reply_url = await asyncio.to_thread(self._queues.url_of, reply_to)
            outcome = await self._run(body, _attribute(record, KEY_ID))
            receives = _receive_count(record)
            if outcome.transient and receives < self._config.max_receives:
                await asyncio.to_thread(
                    self._queues.delay,
                    self._config.request_queue_url,
                    str(record.get("receiptHandle", "")),
                    min(MAX_VISIBILITY_SECONDS, self._config.retry_delay * receives),
                )
                logger.info(
                    "request handed back to the queue",
                    extra={"message_id": record.get("messageId"), "custom_id": outcome.line.custom_id},
                )
                raise RetryLater(outcome.line.error.message if outcome.line.error else "transient failure")
        # SQS calls block: off the event loop, where the batch's other records are answered.
        await asyncio.to_thread(self._reply, reply_url, record, outcome)

    async def _run(self, body: str, key_id: str | None) -> Dispatched:
        """The line, as the key the message names (its allow-list and usage) or as no key."""
        if key_id is None or self._principals is None:
            return await self._dispatcher.dispatch(body, entry_point=ENTRY_POINT)
        principal = await asyncio.to_thread(self._principals, key_id)
        if principal is None:
            message = f"{KEY_ID} {key_id!r} names no live API key"
            return invalid_line(_loose_json(body), message, code="invalid_api_key")
        return await self._dispatcher.dispatch(body, entry_point=ENTRY_POINT, principal=principal)

    def _reply(self, url: str, record: Mapping[str, Any], outcome: Dispatched) -> None:
        attributes = {"RequestMessageId": str(record.get("messageId", ""))}
        if outcome.line.custom_id:
            attributes["CustomId"] = outcome.line.custom_id
        self._queues.send(url, result_json(outcome.line), attributes)


def _loose_json(body: str) -> Any:
    """The body parsed if it is JSON (to keep its custom_id on a refusal), else None."""
    import json

    try:
        return json.loads(body)
    except ValueError:
        return None
