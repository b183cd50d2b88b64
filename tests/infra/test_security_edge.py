"""Edge protection in template.yaml: stage throttling, access logs, reserved concurrency, an optional
WAF rate rule, and a failure destination on every function something invokes asynchronously."""

from __future__ import annotations

from typing import Any

import pytest

from .stack import as_list, policy_statements, serverless_functions

pytestmark = pytest.mark.infra


def _param(template: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in template["Parameters"], f"parameter {name} is missing"
    return dict(template["Parameters"][name])


def _refs(value: Any) -> set[str]:
    """Every Ref / GetAtt target / ${Name} inside a value."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref":
                found.add(str(inner))
            elif key == "Fn::GetAtt":
                found.add(str(as_list(inner)[0]).split(".")[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found |= {part.split("}")[0].split(".")[0] for part in str(text).split("${")[1:]}
                if isinstance(inner, list):
                    found |= _refs(inner[1])
            else:
                found |= _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _refs(inner)
    return found


def test_the_stage_is_throttled_with_parameters_that_default_to_sane_limits(template: dict[str, Any]) -> None:
    rate, burst = _param(template, "ApiThrottlingRateLimit"), _param(template, "ApiThrottlingBurstLimit")
    assert 0 < float(rate["Default"]) <= 10_000 and 0 < int(burst["Default"]) <= 5_000
    assert int(burst["Default"]) >= float(rate["Default"])
    settings = template["Resources"]["Api"]["Properties"]["MethodSettings"]
    every = [s for s in settings if s.get("ResourcePath") == "/*" and s.get("HttpMethod") == "*"]
    assert every, "a MethodSettings entry for every resource and method"
    assert every[0]["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert every[0]["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}


def test_api_gateway_writes_access_logs_to_a_log_group_of_its_own(template: dict[str, Any]) -> None:
    access = template["Resources"]["Api"]["Properties"]["AccessLogSetting"]
    (group,) = _refs(access["DestinationArn"])
    assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert template["Resources"][group]["Properties"]["RetentionInDays"] > 0
    fmt = str(access["Format"])
    for field in ("$context.requestId", "$context.identity.sourceIp", "$context.status", "$context.path"):
        assert field in fmt
    # API Gateway needs an account-level role to write logs; the stack can make it or use the one set.
    assert _param(template, "ApiGatewayLogRole")["AllowedValues"] == ["create", "existing"]
    account = [r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Account"]
    assert len(account) == 1 and account[0]["Condition"]


def test_every_function_has_a_reserved_concurrency_parameter(template: dict[str, Any]) -> None:
    for logical_id, function in serverless_functions(template).items():
        reserved = function["Properties"].get("ReservedConcurrentExecutions")
        assert reserved is not None, f"{logical_id} has no ReservedConcurrentExecutions"
        condition, when_set, when_unset = reserved["Fn::If"]
        (parameter,) = _refs(when_set)
        spec = _param(template, parameter)
        assert spec["Type"] == "Number" and int(spec["MinValue"]) == 0 and int(spec["Default"]) >= 0
        assert when_unset == {"Ref": "AWS::NoValue"}
        assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]}


def test_the_waf_rate_rule_is_optional_off_by_default_and_on_the_stage(template: dict[str, Any]) -> None:
    limit = _param(template, "WafRateLimit")
    assert int(limit["Default"]) == 0 and "off" in limit["Description"]
    acls = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::WAFv2::WebACL"}
    (acl_id,) = acls
    acl = acls[acl_id]
    assert acl["Condition"] == "HasWaf" and acl["Properties"]["Scope"] == "REGIONAL"
    assert template["Conditions"]["HasWaf"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WafRateLimit"}, 0]}]}
    (rule,) = acl["Properties"]["Rules"]
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"]["RateBasedStatement"]["Limit"] == {"Ref": "WafRateLimit"}
    assert rule["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    (association,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACLAssociation"
    ]
    assert association["Condition"] == "HasWaf"
    assert {"Api", acl_id} <= _refs(association["Properties"])


def _async_targets(template: dict[str, Any]) -> set[str]:
    """Functions invoked asynchronously: an EventBridge rule or schedule target, or named by an
    InvokeFunction grant (by Ref/GetAtt, or by the ARN built from a fixed FunctionName)."""
    functions = serverless_functions(template)
    async_events = ("EventBridgeRule", "Schedule", "ScheduleV2", "S3")
    targets = {
        logical_id
        for logical_id, function in functions.items()
        if any(e.get("Type") in async_events for e in function["Properties"].get("Events", {}).values())
    }
    fixed_names = {
        str(f["Properties"]["FunctionName"]["Fn::Sub"]): logical_id
        for logical_id, f in functions.items()
        if isinstance(f["Properties"].get("FunctionName"), dict)
    }
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in policy_statements(resource):
            if "lambda:InvokeFunction" not in as_list(statement.get("Action")):
                continue
            targets |= _refs(statement.get("Resource")) & set(functions)
            arns = " ".join(str(r) for r in as_list(statement.get("Resource")))
            targets |= {logical_id for name, logical_id in fixed_names.items() if f"function:{name}" in arns}
    return targets


def test_every_asynchronously_invoked_function_has_an_on_failure_destination(
    template: dict[str, Any],
) -> None:
    functions = serverless_functions(template)
    targets = _async_targets(template)
    assert {"PipelineFunction", "DeployerFunction"} <= targets
    for logical_id in sorted(targets):
        properties = functions[logical_id]["Properties"]
        config = properties.get("EventInvokeConfig", {})
        on_failure = config.get("DestinationConfig", {}).get("OnFailure")
        assert on_failure and on_failure["Type"] == "SQS", f"{logical_id} has no OnFailure destination"
        (queue,) = _refs(on_failure["Destination"])
        assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue"
        # An explicit role gets no SAM-made policy: it must be allowed to send there itself.
        role = template["Resources"][next(iter(_refs(properties["Role"])))]
        assert any(
            "sqs:SendMessage" in as_list(s["Action"]) and queue in _refs(s["Resource"])
            for s in policy_statements(role)
        ), f"{logical_id}'s role cannot send to {queue}"


def test_a_failed_dataset_verification_reaches_the_worker_that_marks_it_invalid(
    template: dict[str, Any],
) -> None:
    pipeline = serverless_functions(template)["PipelineFunction"]["Properties"]
    (queue,) = _refs(pipeline["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"])
    consumers = [
        e
        for e in pipeline["Events"].values()
        if e["Type"] == "SQS" and _refs(e["Properties"]["Queue"]) == {queue}
    ]
    assert consumers and consumers[0]["Properties"]["BatchSize"] == 1
    # What the worker cannot settle ends in a dead-letter queue with an alarm, not in a loop.
    redrive = template["Resources"][queue]["Properties"]["RedrivePolicy"]
    (dlq,) = _refs(redrive["deadLetterTargetArn"])
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert any(dlq in _refs(a["Properties"].get("Dimensions")) for a in alarms)
