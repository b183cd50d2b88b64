"""SQS at the edge: send a message to a queue named by URL or ARN, errors mapped by code once.

A queue ARN is turned into its URL with GetQueueUrl (cached): the URL's host differs by
partition and endpoint, so it is never spelled out here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws_control import raise_control_error
from relay.errors import ServiceUnavailableError


def queue_name_and_account(arn: str) -> tuple[str, str]:
    """`arn:aws:sqs:<region>:<account>:<name>` -> (name, account); ValueError otherwise."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not parts[4] or not parts[5]:
        raise ValueError(f"{arn!r} is not an SQS queue ARN")
    return parts[5], parts[4]


class SqsQueues:
    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def url_of(self, arn: str) -> str:
        with self._lock:
            found = self._urls.get(arn)
        if found is not None:
            return found
        name, account = queue_name_and_account(arn)
        try:
            url = str(
                self._client().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            )
        except (BotoCoreError, ClientError) as exc:
            raise_control_error(exc, "GetQueueUrl")
        with self._lock:
            self._urls[arn] = url
        return url

    def send(
        self,
        queue_url: str,
        body: str,
        attributes: Mapping[str, str] | None = None,
        *,
        delay_seconds: int = 0,
    ) -> str:
        """Send `body` with string attributes, shown after `delay_seconds`; returns the message id."""
        kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": body}
        if delay_seconds:
            kwargs["DelaySeconds"] = delay_seconds
        if attributes:
            kwargs["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            }
        try:
            return str(self._client().send_message(**kwargs)["MessageId"])
        except (BotoCoreError, ClientError) as exc:
            raise_control_error(exc, "SendMessage")

    def send_batch(self, queue_url: str, messages: list[tuple[str, Mapping[str, str]]]) -> None:
        """Send up to 10 messages in one call; any entry SQS refused is an error, not a silent loss."""
        entries = [
            {
                "Id": str(n),
                "MessageBody": body,
                "MessageAttributes": {
                    k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                },
            }
            for n, (body, attributes) in enumerate(messages)
        ]
        try:
            answer = self._client().send_message_batch(QueueUrl=queue_url, Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            raise_control_error(exc, "SendMessageBatch")
        failed = answer.get("Failed") or []
        if failed:
            first = failed[0]
            raise ServiceUnavailableError(
                f"SendMessageBatch refused {len(failed)} message(s): {first.get('Code')}", retry_after=1
            )

    def delay(self, queue_url: str, receipt_handle: str, seconds: int) -> None:
        """Show a received message again in `seconds` (not after the whole visibility timeout)."""
        try:
            self._client().change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (BotoCoreError, ClientError) as exc:
            raise_control_error(exc, "ChangeMessageVisibility")


class InMemoryQueues:
    """Queues in a dict of lists, keyed by URL; ARNs map to `memory://<name>`."""

    def __init__(self) -> None:
        self.sent: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self.delayed: list[tuple[str, str, int]] = []
        self.delays: list[tuple[str, int]] = []

    def url_of(self, arn: str) -> str:
        name, _ = queue_name_and_account(arn)
        return f"memory://{name}"

    def send(
        self,
        queue_url: str,
        body: str,
        attributes: Mapping[str, str] | None = None,
        *,
        delay_seconds: int = 0,
    ) -> str:
        if delay_seconds:
            self.delays.append((queue_url, delay_seconds))
        messages = self.sent.setdefault(queue_url, [])
        messages.append((body, dict(attributes or {})))
        return f"m-{len(messages)}"

    def send_batch(self, queue_url: str, messages: list[tuple[str, Mapping[str, str]]]) -> None:
        for body, attributes in messages:
            self.send(queue_url, body, attributes)

    def delay(self, queue_url: str, receipt_handle: str, seconds: int) -> None:
        self.delayed.append((queue_url, receipt_handle, seconds))
