"""What Lambda's event sources do on AWS, done here on threads: poll queues, invoke functions.

- An SQS event source: receive up to BatchSize messages, invoke the function with Lambda's SQS
  event, delete the messages it did not report in `batchItemFailures` (ReportBatchItemFailures).
  A failed invoke deletes nothing. Messages left behind come back after their visibility
  timeout, and moto's redrive policy moves them to the DLQ after maxReceiveCount receives.
- A rule's internal queue: each message is one EventBridge event, invoked one at a time as
  EventBridge invokes a target; a failed invoke is logged and left for the rule's retry (the
  message shows again after its visibility timeout).

Several pollers per SQS source stand in for Lambda's concurrent pollers. Their receives take
turns (one lock per queue): moto's ReceiveMessage is not safe against itself on one queue, and
two concurrent receives can hand out one message twice and lose another. Threads stop on `stop`.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from local import functions
from local.daemons import Daemons, warn_failed
from local.messaging import EventSource

_log = logging.getLogger("relay.local.delivery")
POLLERS_PER_QUEUE = 4
# Between polls of an empty queue: 50 ms after a message, doubling while the queue stays empty
# up to the cap (the first poller of a queue answers within half a second, the others,
# which matter only under load, within four). Polling every 50 ms forever kept a core busy
# on an idle `make local`, and took CPU from whatever ran beside the stack.
IDLE_SECONDS = 0.05
IDLE_CAP_SECONDS = (0.5, 4.0)  # the first poller's, the others'


def sqs_event(messages: list[dict[str, Any]], source: EventSource, region: str) -> dict[str, Any]:
    """Lambda's SQS event for received messages (attribute names as Lambda spells them)."""
    records = []
    for message in messages:
        attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        }
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": attributes,
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": source.queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


class Delivery(Daemons):
    def __init__(self, session: Any, sources: list[EventSource], region: str) -> None:
        super().__init__()
        self._sqs = session.client("sqs", region_name=region)
        self._sources = sources
        self._region = region
        self._receiving = {source.queue_url: threading.Lock() for source in sources}

    def start(self) -> Delivery:
        for source in self._sources:
            pollers = POLLERS_PER_QUEUE if source.kind == "sqs" else 1
            for n in range(pollers):
                cap = IDLE_CAP_SECONDS[0] if n == 0 else IDLE_CAP_SECONDS[1]
                self.spawn(self._poll, (source, cap), f"deliver-{source.function.name}-{n}")
        return self

    def _poll(self, source: EventSource, cap: float) -> None:
        idle = IDLE_SECONDS
        while not self._stopped.is_set():
            try:
                # Short polls under the lock (a long poll would hold it while the queue is empty).
                with self._receiving[source.queue_url]:
                    messages = self._sqs.receive_message(
                        QueueUrl=source.queue_url,
                        MaxNumberOfMessages=source.batch_size,
                        WaitTimeSeconds=0,
                        AttributeNames=["All"],
                        MessageAttributeNames=["All"],
                    ).get("Messages", [])
            except Exception:  # the stack is stopping, or moto hiccuped: try again
                if not self._stopped.wait(0.5):
                    _log.debug("receive failed on %s", source.queue_url, exc_info=True)
                continue
            if messages:
                idle = IDLE_SECONDS
                self._deliver(source, messages)
            else:
                self._stopped.wait(idle)
                idle = min(idle * 2, cap)

    def _deliver(self, source: EventSource, messages: list[dict[str, Any]]) -> None:
        if source.kind == "sqs":
            result = functions.run(source.function, sqs_event(messages, source, self._region))
            if result.get("FunctionError"):
                warn_failed(_log, result, f"{source.function.name} on an event from {source.queue_arn}")
                return
            failed = {
                item["itemIdentifier"] for item in (result["Payload"] or {}).get("batchItemFailures", [])
            }
            done = [m for m in messages if m["MessageId"] not in failed]
        else:
            done = []
            for message in messages:
                result = functions.run(source.function, json.loads(message["Body"]))
                if result.get("FunctionError"):
                    warn_failed(_log, result, f"{source.function.name} on an event from {source.queue_arn}")
                else:
                    done.append(message)
        for start in range(0, len(done), 10):  # DeleteMessageBatch takes ten
            entries = [
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                for n, m in enumerate(done[start : start + 10])
            ]
            self._sqs.delete_message_batch(QueueUrl=source.queue_url, Entries=entries)
