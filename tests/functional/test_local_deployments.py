"""The deployment state machine run by moto's interpreter from statemachines/deployment.asl.json,
and the local stack's Scheduler: template schedules created in moto, rate schedules fired."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from local import functions
from local.functions import LocalFunction
from local.schedules import LocalSchedule, RateTicker
from local.statemachines import REPO

pytestmark = pytest.mark.functional

ACCOUNT_ARN = "arn:aws:lambda:us-east-1:123456789012:function:"

# A stand-in deployer: answers the state machine's steps from a script the test chooses
# through the deployment id, and records every event it receives.
FAKE_DEPLOYER = """
import json, os

def lambda_handler(event, context):
    with open(os.path.join(os.path.dirname(__file__), "events.jsonl"), "a") as fh:
        fh.write(json.dumps(event) + "\\n")
    plan = event["deployment_id"]
    if event["step"] == "fail":
        return {"done": True, "wait_seconds": 0, "status": "Failed"}
    if event["step"] == "timeout":
        return {"done": True, "wait_seconds": 0, "status": "TimedOut"}
    if plan == "dp-broken" and event["step"] == "poll":
        raise RuntimeError("CreateInferenceComponent: capacity")
    if plan == "dp-refused":
        return {"done": True, "wait_seconds": 0, "status": "Failed"}
    polls = sum(1 for line in open(os.path.join(os.path.dirname(__file__), "events.jsonl"))
                if json.loads(line)["deployment_id"] == plan and json.loads(line)["step"] == "poll")
    done = plan == "dp-quick" and polls >= 2
    return {"done": done, "wait_seconds": 1, "status": "Deployed" if done else "Deploying"}
"""


@pytest.fixture(scope="module")
def deployer(local_stack: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    code = tmp_path_factory.mktemp("fake-deployer")
    (code / "fake_deployer.py").write_text(FAKE_DEPLOYER, encoding="utf-8")
    function = LocalFunction(
        "fake-deployer", ACCOUNT_ARN + "fake-deployer", code, "fake_deployer.lambda_handler"
    )
    functions.register([function])
    return function.arn, code / "events.jsonl"


@pytest.fixture(scope="module")
def machine(deployer: tuple[str, Path]) -> str:
    """The real definition, with the substitutions CloudFormation would make (a 3 s time limit)."""
    definition = (REPO / "statemachines" / "deployment.asl.json").read_text(encoding="utf-8")
    definition = definition.replace("${DeployerFunctionArn}", deployer[0])
    definition = definition.replace("${DeploymentTimeoutSeconds}", "3")
    sfn = boto3.client("stepfunctions")
    return str(
        sfn.create_state_machine(
            name="deployment-under-test", definition=definition, roleArn="arn:aws:iam::123456789012:role/sm"
        )["stateMachineArn"]
    )


def _run(machine: str, deployment_id: str, action: str = "create") -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=machine,
        name=f"{deployment_id}-{action}-1",
        input=json.dumps({"action": action, "deployment_id": deployment_id, "project_id": "ms-test"}),
    )
    deadline = time.monotonic() + 60
    while True:
        described = sfn.describe_execution(executionArn=started["executionArn"])
        if described["status"] != "RUNNING":
            return dict(described)
        assert time.monotonic() < deadline, described
        time.sleep(0.2)


def _events(log: Path, deployment_id: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return [row for row in rows if row["deployment_id"] == deployment_id]


def test_action_then_polls_until_done(machine: str, deployer: tuple[str, Path]) -> None:
    result = _run(machine, "dp-quick", "reactivate")
    assert result["status"] == "SUCCEEDED"
    events = _events(deployer[1], "dp-quick")
    assert [e["step"] for e in events] == ["reactivate", "poll", "poll"]
    assert all(
        (e["action"], e["deployment_id"], e["project_id"]) == ("reactivate", "dp-quick", "ms-test")
        for e in events
    )


def test_a_settled_failure_fails_the_execution_without_polling(
    machine: str, deployer: tuple[str, Path]
) -> None:
    result = _run(machine, "dp-refused")
    assert (result["status"], result["error"]) == ("FAILED", "DeploymentFailed")
    assert [e["step"] for e in _events(deployer[1], "dp-refused")] == ["create"]


def test_past_the_time_limit_the_timeout_step_runs(machine: str, deployer: tuple[str, Path]) -> None:
    result = _run(machine, "dp-slow")
    assert (result["status"], result["error"]) == ("FAILED", "DeploymentTimedOut")
    steps = [e["step"] for e in _events(deployer[1], "dp-slow")]
    # One-second waits against a three-second limit: three polls, then the clean-up step.
    assert steps == ["create", "poll", "poll", "poll", "timeout"]


def test_a_task_error_reaches_the_fail_step_with_its_cause(machine: str, deployer: tuple[str, Path]) -> None:
    result = _run(machine, "dp-broken", "delete")
    assert (result["status"], result["error"]) == ("FAILED", "DeploymentFailed")
    events = _events(deployer[1], "dp-broken")
    assert [e["step"] for e in events] == ["delete", "poll", "fail"]
    error = events[-1]["error"]
    assert error["Error"] == "RuntimeError"
    assert json.loads(error["Cause"])["errorMessage"] == "CreateInferenceComponent: capacity"


def test_same_execution_name_runs_once(machine: str, deployer: tuple[str, Path]) -> None:
    """The control plane relies on it: starting `<id>-<action>-<n>` twice is one execution."""
    sfn = boto3.client("stepfunctions")
    body = {"action": "create", "deployment_id": "dp-twice", "project_id": "ms-test"}
    first = sfn.start_execution(stateMachineArn=machine, name="dp-twice-create-1", input=json.dumps(body))
    second = sfn.start_execution(stateMachineArn=machine, name="dp-twice-create-1", input=json.dumps(body))
    assert first["executionArn"] == second["executionArn"]


# ---------------------------------------------------------------- schedules


def test_template_schedules_exist_in_the_local_scheduler(local_stack: Any) -> None:
    import os

    scheduler = boto3.client("scheduler")
    group = os.environ["SCHEDULE_GROUP_NAME"]
    assert group == "relay-local-deployments"
    scaler = scheduler.get_schedule(Name="relay-local-scaler", GroupName=group)
    assert scaler["ScheduleExpression"] == "rate(5 minutes)"
    assert scaler["Target"]["Arn"] == os.environ["DEPLOYER_FUNCTION_NAME"]
    assert json.loads(scaler["Target"]["Input"]) == {"action": "scale"}
    assert functions.find(scaler["Target"]["Arn"]) is not None, "the schedule's target runs locally"
    (listed,) = [s for s in local_stack.resources.schedules if s.name == "relay-local-scaler"]
    assert listed.rate_seconds == 300


def test_state_machine_and_deployer_run_locally(local_stack: Any) -> None:
    import os

    arn = os.environ["DEPLOYMENT_STATE_MACHINE_ARN"]
    described = boto3.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    assert os.environ["DEPLOYER_FUNCTION_NAME"] in described["definition"]
    assert os.environ["DEPLOYMENT_POLL_SECONDS"] == "1"
    assert os.environ["RESOURCE_PREFIX"] == "relay-local"


def test_rate_ticker_fires_with_the_schedule_input_until_stopped(deployer: tuple[str, Path]) -> None:
    schedule = LocalSchedule(
        "tick", "g", "rate(5 minutes)", deployer[0], {"deployment_id": "dp-tick", "step": "x"}
    )
    ticker = RateTicker([schedule], interval=0.05).start()
    deadline = time.monotonic() + 10
    while ticker.fired.get("tick", 0) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ticker.stop()
    fired = ticker.fired["tick"]
    time.sleep(0.2)
    assert ticker.fired["tick"] == fired, "no tick after stop"
    events = _events(deployer[1], "dp-tick")
    assert len(events) == fired and all(e == {"deployment_id": "dp-tick", "step": "x"} for e in events)


def test_rate_periods_and_what_does_not_fire() -> None:
    def period(expression: str) -> float | None:
        return LocalSchedule("n", "g", expression, "arn", {}).rate_seconds

    assert (period("rate(5 minutes)"), period("rate(1 hour)"), period("rate(2 days)")) == (300, 3600, 172800)
    assert period("cron(0 9 ? * MON-FRI *)") is None
    cron = LocalSchedule("weekly", "g", "cron(0 9 ? * MON *)", "arn", {})
    off = RateTicker([LocalSchedule("rate", "g", "rate(1 minute)", "arn", {})], interval=0).start()
    assert not off._threads and not RateTicker([cron]).start()._threads
