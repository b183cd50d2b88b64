"""Event-driven invocation in template.yaml: the queues with their DLQ and alarm, the bus and its
rules, bucket notifications, the workers' event sources, and roles scoped to those resources."""

from __future__ import annotations

from typing import Any

import pytest

from .stack import as_list, declared_environment, policy_statements

pytestmark = pytest.mark.infra

# Where Lambda records an asynchronous invoke that failed every retry (EventInvokeConfig OnFailure).
FAILURES = {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}

WORKERS = {
    "RequestsQueueFunction": "RequestsQueueRole",
    "RequestsEventsFunction": "RequestsEventsRole",
    "InvokeFunction": "InvokeRole",
}


def _resources(transformed: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in transformed["Resources"].items() if v["Type"] == kind}


def _grants(template: dict[str, Any], role: str) -> dict[str, list[Any]]:
    """action -> the resources granted it, over the role's inline policies."""
    grants: dict[str, list[Any]] = {}
    for statement in policy_statements(template["Resources"][role]):
        for action in as_list(statement["Action"]):
            grants.setdefault(action, []).extend(as_list(statement["Resource"]))
    return grants


def test_request_queue_redrives_to_its_dlq_after_the_parameters_receives(template: dict[str, Any]) -> None:
    queue = template["Resources"]["RequestQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["RequestDeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "RequestMaxReceives"},
    }
    # The worker answers on the last receive: it must know the same number.
    env = declared_environment("RequestsQueueFunction")
    assert env["RELAY_REQUEST_MAX_RECEIVES"] == {"Ref": "RequestMaxReceives"}
    timeout = template["Resources"]["RequestsQueueFunction"]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout  # what Lambda's SQS event source asks for
    dlq = template["Resources"]["RequestDeadLetterQueue"]["Properties"]
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_an_alarm_watches_the_dlq_depth(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["RequestDeadLetterAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["RequestDeadLetterQueue", "QueueName"]}}
    ]
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_the_queue_worker_reports_partial_batch_failures(transformed: dict[str, Any]) -> None:
    # The pipeline worker also consumes a queue (its failed asynchronous invokes): pick this one's.
    (mapping,) = [
        m
        for m in _resources(transformed, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": "RequestsQueueFunction"}
    ]
    properties = mapping["Properties"]
    assert properties["EventSourceArn"] == {"Fn::GetAtt": ["RequestQueue", "Arn"]}
    assert properties["FunctionName"] == {"Ref": "RequestsQueueFunction"}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_rules_send_relay_requests_and_batch_objects_to_the_events_worker(
    transformed: dict[str, Any],
) -> None:
    rules = _resources(transformed, "AWS::Events::Rule")
    targets = {
        json_key: rule["Properties"]
        for json_key, rule in rules.items()
        if rule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["RequestsEventsFunction", "Arn"]}
    }
    assert len(targets) == 2
    on_bus = [p for p in targets.values() if p.get("EventBusName") == {"Ref": "EventBus"}]
    assert [p["EventPattern"] for p in on_bus] == [{"detail-type": ["Relay Request"]}]
    (objects,) = [p for p in targets.values() if "EventBusName" not in p]  # S3 uses the default bus
    assert objects["EventPattern"]["source"] == ["aws.s3"]
    assert objects["EventPattern"]["detail"] == {
        "bucket": {"name": [{"Ref": "Bucket"}]},
        "object": {"key": [{"prefix": "batch/input/"}]},
    }
    # Outputs go under batch/output/, which the rule does not match: no loop.
    assert not "batch/output/".startswith("batch/input/")


def test_the_bucket_sends_its_events_to_eventbridge(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["Bucket"]["Properties"]
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"] == {"EventBridgeEnabled": True}


def test_the_queue_worker_role_reaches_only_its_queues(template: dict[str, Any]) -> None:
    grants = _grants(template, "RequestsQueueRole")
    sqs = {action: resources for action, resources in grants.items() if action.startswith("sqs:")}
    assert sqs["sqs:ReceiveMessage"] == [{"Fn::GetAtt": ["RequestQueue", "Arn"]}]
    assert sqs["sqs:DeleteMessage"] == [{"Fn::GetAtt": ["RequestQueue", "Arn"]}]
    assert sqs["sqs:ChangeMessageVisibility"] == [{"Fn::GetAtt": ["RequestQueue", "Arn"]}]
    # Results to the response queue and allowed reply queues; throttled batch lines back to its own.
    assert sorted(map(str, sqs["sqs:SendMessage"])) == sorted(
        map(
            str,
            [
                {"Fn::GetAtt": ["ResponseQueue", "Arn"]},
                {"Fn::GetAtt": ["RequestQueue", "Arn"]},
                {"Ref": "ReplyQueueArns"},
            ],
        )
    )
    assert not [a for a in grants if a.startswith("events:")]
    # Batch lines: their results under batches/*/results/ and their counts on the table, nothing else.
    assert grants["s3:PutObject"] == [{"Fn::Sub": "${Bucket.Arn}/batches/*/results/*"}]
    assert grants["dynamodb:UpdateItem"] == [{"Fn::GetAtt": ["Table", "Arn"]}]
    statements = policy_statements(template["Resources"]["RequestsQueueRole"])
    (counts,) = [s for s in statements if s.get("Sid") == "BatchLineCounts"]
    assert counts["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["BATCHES#*", "USAGE#*"]


def test_the_batch_function_role(template: dict[str, Any]) -> None:
    grants = _grants(template, "BatchRole")
    # Lines to the request queue; the record of a failed self-invoke to its OnFailure destination.
    assert sorted(map(str, grants["sqs:SendMessage"])) == sorted(
        map(str, [{"Fn::GetAtt": ["RequestQueue", "Arn"]}, FAILURES])
    )
    assert grants["s3:PutObject"] == [{"Fn::Sub": "${Bucket.Arn}/files/*"}]
    (records,) = [
        s for s in policy_statements(template["Resources"]["BatchRole"]) if s.get("Sid") == "Records"
    ]
    assert records["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["BATCHES#*", "FILES#*"]
    assert grants["s3:DeleteObject"] == [{"Fn::Sub": "${Bucket.Arn}/batches/*"}]
    name = template["Resources"]["BatchFunction"]["Properties"]["FunctionName"]
    assert name == {"Fn::Sub": "${AWS::StackName}-batch"}
    env = declared_environment("ControlPlaneFunction")
    assert env["RELAY_BATCH_FUNCTION_NAME"]["Fn::Sub"].endswith(":function:${AWS::StackName}-batch")
    assert grants["lambda:InvokeFunction"] == [env["RELAY_BATCH_FUNCTION_NAME"]]
    control = _grants(template, "ControlPlaneRole")
    assert env["RELAY_BATCH_FUNCTION_NAME"] in control["lambda:InvokeFunction"]


def test_the_events_worker_role_reaches_only_its_bus_and_batch_prefixes(template: dict[str, Any]) -> None:
    grants = _grants(template, "RequestsEventsRole")
    assert grants["events:PutEvents"] == [{"Fn::GetAtt": ["EventBus", "Arn"]}]
    assert grants["s3:GetObject"] == [{"Fn::Sub": "${Bucket.Arn}/batch/input/*"}]
    assert grants["s3:PutObject"] == [{"Fn::Sub": "${Bucket.Arn}/batch/output/*"}]
    # No queue but the record of its own failed invokes (its OnFailure destination).
    assert {a: r for a, r in grants.items() if a.startswith("sqs:")} == {"sqs:SendMessage": [FAILURES]}


def test_the_invoke_role_only_answers_lines(template: dict[str, Any]) -> None:
    grants = _grants(template, "InvokeRole")
    assert set(grants) == {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"}
    assert grants["sqs:SendMessage"] == [FAILURES]  # only its OnFailure destination


def test_each_worker_runs_with_its_own_role_and_the_shared_inference_policy(template: dict[str, Any]) -> None:
    for function, role in WORKERS.items():
        properties = template["Resources"][function]["Properties"]
        assert properties["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert template["Resources"][role]["Properties"]["ManagedPolicyArns"] == [
            {"Ref": "RequestInferencePolicy"}
        ]
        log_group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert _grants(template, role)["logs:PutLogEvents"] == [{"Fn::GetAtt": [log_group, "Arn"]}]
    inference = template["Resources"]["RequestInferencePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    writes = [
        action
        for statement in inference
        if isinstance(statement, dict) and "Action" in statement
        for action in as_list(statement["Action"])
        if action.startswith(
            ("dynamodb:Put", "dynamodb:Update", "dynamodb:Delete", "sagemaker:Create", "s3:")
        )
    ]
    assert not writes  # answering a line reads the registry; it never changes anything


def test_outputs_name_the_entry_points(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["RequestQueueUrl"]["Value"] == {"Ref": "RequestQueue"}
    assert outputs["ResponseQueueUrl"]["Value"] == {"Ref": "ResponseQueue"}
    assert outputs["EventBusName"]["Value"] == {"Ref": "EventBus"}
    assert outputs["InvokeFunctionName"]["Value"] == {"Ref": "InvokeFunction"}
