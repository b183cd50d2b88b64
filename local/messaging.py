"""template.yaml's queues, event buses, bucket notifications and function event sources, on moto.

Queues and buses are created in moto as `sam deploy` would create them (names, visibility
timeouts, redrive policies from the template). What Lambda does on AWS — poll a queue, and
take events from a rule — the local stack does in `local.delivery`. A rule whose target is a
template function gets an internal queue as its target instead (`relay-local-rule-...`):
moto matches the event pattern and delivers to the queue, and delivery hands each event to
the function. Rules a user adds with SQS targets are delivered by moto itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from local.functions import LocalFunction
from local.template import resources_of_type

ACCOUNT = "123456789012"


@dataclass(frozen=True)
class EventSource:
    """A queue a template function consumes: its own SQS event source, or a rule's internal queue."""

    queue_url: str
    queue_arn: str
    function: LocalFunction
    kind: str  # "sqs" (batches of records) or "events" (one EventBridge event per invoke)
    batch_size: int = 10


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _queue_attributes(properties: dict[str, Any], resolver: Any) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for key in (
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "ReceiveMessageWaitTimeSeconds",
    ):
        if key in properties:
            attributes[key] = str(resolver.resolve(properties[key]))
    redrive = properties.get("RedrivePolicy")
    if redrive:
        policy = {k: resolver.resolve(v) for k, v in redrive.items()}
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": policy["deadLetterTargetArn"],
                "maxReceiveCount": int(policy["maxReceiveCount"]),
            }
        )
    return attributes


def create_queues_and_buses(
    session: Any, template: dict[str, Any], names: dict[str, str], resolver: Any, region: str
) -> None:
    """SQS queues (dead-letter queues first) and event buses; Ref, Arn and QueueName recorded."""
    sqs = session.client("sqs", region_name=region)
    queues = resources_of_type(template, "AWS::SQS::Queue")
    # A queue with a redrive policy refers to its DLQ's ARN: create those first.
    for logical_id, resource in sorted(queues.items(), key=lambda kv: "RedrivePolicy" in kv[1]["Properties"]):
        properties = resource.get("Properties", {})
        name = f"relay-local-{_slug(logical_id)}"
        url = sqs.create_queue(QueueName=name, Attributes=_queue_attributes(properties, resolver))["QueueUrl"]
        names[logical_id] = url
        names[f"{logical_id}.Arn"] = f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"
        names[f"{logical_id}.QueueName"] = name
    events = session.client("events", region_name=region)
    existing = {b["Name"] for b in events.list_event_buses().get("EventBuses", [])}
    for logical_id in resources_of_type(template, "AWS::Events::EventBus"):
        name = f"relay-local-{_slug(logical_id)}"
        if name not in existing:
            events.create_event_bus(Name=name)
        names[logical_id] = name
        names[f"{logical_id}.Arn"] = f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{name}"
        names[f"{logical_id}.Name"] = name
    s3 = session.client("s3", region_name=region)
    for logical_id, resource in resources_of_type(template, "AWS::S3::Bucket").items():
        notifications = resource.get("Properties", {}).get("NotificationConfiguration", {})
        if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=names[logical_id], NotificationConfiguration={"EventBridgeConfiguration": {}}
            )


def create_event_sources(
    session: Any,
    template: dict[str, Any],
    names: dict[str, str],
    resolver: Any,
    region: str,
    functions: list[LocalFunction],
) -> list[EventSource]:
    """Each function's SQS and EventBridgeRule events as queues `local.delivery` polls."""
    by_arn = {f.arn: f for f in functions}
    sqs = session.client("sqs", region_name=region)
    events = session.client("events", region_name=region)
    sources: list[EventSource] = []
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        function = by_arn.get(names.get(logical_id, ""))
        if function is None:
            continue
        for event_id, event in resource.get("Properties", {}).get("Events", {}).items():
            kind, properties = event.get("Type"), event.get("Properties", {})
            if kind == "SQS":
                arn = str(resolver.resolve(properties["Queue"]))
                url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
                sources.append(EventSource(url, arn, function, "sqs", int(properties.get("BatchSize", 10))))
            elif kind == "EventBridgeRule":
                bus = str(resolver.resolve(properties.get("EventBusName", "default")))
                rule = f"relay-local-{_slug(logical_id)}-{_slug(event_id)}"
                queue = f"relay-local-rule-{_slug(logical_id)}-{_slug(event_id)}"
                url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
                arn = f"arn:aws:sqs:{region}:{ACCOUNT}:{queue}"
                pattern = resolver.resolve(properties["Pattern"])
                events.put_rule(
                    Name=rule, EventBusName=bus, EventPattern=json.dumps(_resolved(pattern, resolver))
                )
                events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "function", "Arn": arn}])
                sources.append(EventSource(url, arn, function, "events", 1))
    return sources


def _resolved(value: Any, resolver: Any) -> Any:
    """Intrinsics anywhere in an event pattern (`name: [!Ref Bucket]`)."""
    value = resolver.resolve(value)
    if isinstance(value, dict):
        return {k: _resolved(v, resolver) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, resolver) for v in value]
    return value
