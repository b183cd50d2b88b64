"""Engines and deployments in template.yaml: the deployer, its state machine, the scaler's schedule,
and IAM scoped to the stack's own SageMaker and Scheduler names."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

from .stack import (
    REPO_ROOT,
    as_list,
    declared_environment,
    env_names_in_python,
    policy_statements,
    serverless_functions,
)

pytestmark = pytest.mark.infra

PREFIX = "${AWS::StackName}-"
SAGEMAKER_ARN = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:"
# SageMaker lower-cases resource names in its ARNs, and the resource types are lower-case too.
HOSTING_TYPES = ("model", "endpoint-config", "endpoint", "inference-component")
HOSTING_WRITES = {
    "sagemaker:CreateModel",
    "sagemaker:DeleteModel",
    "sagemaker:DescribeModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DescribeEndpoint",
    "sagemaker:UpdateEndpoint",
    "sagemaker:CreateInferenceComponent",
    "sagemaker:DeleteInferenceComponent",
    "sagemaker:DescribeInferenceComponent",
    "sagemaker:UpdateInferenceComponent",
    "sagemaker:UpdateInferenceComponentRuntimeConfig",
}
SCHEDULE_ACTIONS = {
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
}
SCHEDULE_ARNS = [
    {
        "Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/"
        "${DeploymentScheduleGroup}/${AWS::StackName}-" + kind + "-*"
    }
    for kind in ("dp", "engine")
]
DEPLOYER_ARN = (
    "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-deployer"
)
STATE_MACHINE_ARN = (
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-deployment"
)
# The settings the deployments design fixed, as every function gets them (Globals).
DEPLOYMENT_ENV = {
    "RESOURCE_PREFIX": {"Ref": "AWS::StackName"},
    "DEPLOYMENT_STATE_MACHINE_ARN": {"Fn::Sub": STATE_MACHINE_ARN},
    "DEPLOYER_FUNCTION_NAME": {"Fn::Sub": DEPLOYER_ARN},
    "SCHEDULE_GROUP_NAME": {"Ref": "DeploymentScheduleGroup"},
    "SCHEDULER_ROLE_ARN": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
    "SAGEMAKER_EXECUTION_ROLE_ARN": {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]},
    "DEPLOYMENT_POLL_SECONDS": "30",
    "DEPLOYMENT_TIMEOUT_SECONDS": {"Ref": "DeploymentTimeoutSeconds"},
}
LAMBDA_RETRY_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


def _allows(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [s for s in policy_statements(template["Resources"][role_id]) if s["Effect"] == "Allow"]


def _granting(template: dict[str, Any], role_id: str, prefix: str) -> list[dict[str, Any]]:
    return [s for s in _allows(template, role_id) if any(a.startswith(prefix) for a in as_list(s["Action"]))]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in as_list(s["Action"])}


def _sub(value: Any) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) and "Fn::Sub" in value else json.dumps(value)


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "statemachines" / "deployment.asl.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- resources


def test_deployer_is_built_like_the_other_workers(template: dict[str, Any]) -> None:
    functions = serverless_functions(template)
    deployer = functions["DeployerFunction"]["Properties"]
    pipeline = functions["PipelineFunction"]["Properties"]
    assert deployer["CodeUri"] == "functions/deployer"
    assert deployer["Handler"] == "handler.lambda_handler"
    assert (REPO_ROOT / "functions" / "deployer" / "handler.py").is_file()
    assert deployer["Layers"] == pipeline["Layers"] == [{"Ref": "RelayLayer"}]
    # Runtime and architecture come from Globals for every function; none overrides them.
    assert not {"Runtime", "Architectures"} & (set(deployer) | set(pipeline))
    assert deployer["Role"] == {"Fn::GetAtt": ["DeployerRole", "Arn"]}
    assert deployer["LoggingConfig"] == {"LogGroup": {"Ref": "DeployerLogGroup"}}
    # The fixed name that DEPLOYER_FUNCTION_NAME and the SchedulerRole spell out.
    assert deployer["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-deployer"}


def test_deployment_state_machine_runs_the_deployer(template: dict[str, Any], asl: dict[str, Any]) -> None:
    machine = template["Resources"]["DeploymentStateMachine"]
    assert machine["Type"] == "AWS::Serverless::StateMachine"
    properties = machine["Properties"]
    assert properties["DefinitionUri"] == "statemachines/deployment.asl.json"
    assert properties["Name"] == {"Fn::Sub": "${AWS::StackName}-deployment"}
    assert properties["DefinitionSubstitutions"] == {
        "DeployerFunctionArn": {"Fn::GetAtt": ["DeployerFunction", "Arn"]},
        "DeploymentTimeoutSeconds": {"Ref": "DeploymentTimeoutSeconds"},
    }
    # Every placeholder in the definition is substituted, and every substitution is used.
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", json.dumps(asl)))
    assert placeholders == set(properties["DefinitionSubstitutions"])


def test_state_machine_tasks_retry_lambda_errors_and_clean_up_on_failure(asl: dict[str, Any]) -> None:
    states = asl["States"]
    tasks = {name: state for name, state in states.items() if state["Type"] == "Task"}
    steps = {}
    for name, task in tasks.items():
        assert task["Resource"] == "arn:aws:states:::lambda:invoke", name
        assert task["Parameters"]["FunctionName"] == "${DeployerFunctionArn}", name
        payload = task["Parameters"]["Payload"]
        assert {"action.$", "deployment_id.$", "project_id.$"} <= set(payload), name
        steps[name] = payload.get("step", payload.get("step.$"))
        assert task["ResultSelector"] == {
            "done.$": "$.Payload.done",
            "wait_seconds.$": "$.Payload.wait_seconds",
            "status.$": "$.Payload.status",
        }
        assert any(set(r["ErrorEquals"]) >= LAMBDA_RETRY_ERRORS for r in task["Retry"]), name
    assert sorted(steps.values()) == sorted(["$.action", "poll", "timeout", "fail"])
    failure = next(name for name, step in steps.items() if step == "fail")
    assert tasks[failure]["Parameters"]["Payload"]["error.$"] == "$.error"
    # Every task but the two clean-up steps sends any error to the failure step.
    for name, task in tasks.items():
        if steps[name] in ("fail", "timeout"):
            assert "Catch" not in task, name
        else:
            assert task["Catch"] == [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failure}
            ]


def test_state_machine_polls_with_the_deployers_wait(asl: dict[str, Any]) -> None:
    waits = [s for s in asl["States"].values() if s["Type"] == "Wait"]
    assert waits == [{"Type": "Wait", "SecondsPath": "$.result.wait_seconds", "Next": "Poll"}]
    settled = asl["States"]["Settled"]
    assert {"Variable": "$.result.done", "BooleanEquals": True, "Next": "Outcome"} in settled["Choices"]
    timeout_rule = next(c for c in settled["Choices"] if c["Next"] == "RecordTimeout")
    assert timeout_rule["NumericGreaterThanEqualsPath"] == "$.clock.timeout_seconds"


def test_schedule_group_and_scaler_schedule(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    group = resources["DeploymentScheduleGroup"]
    assert group["Type"] == "AWS::Scheduler::ScheduleGroup"
    scaler = resources["ScalerSchedule"]
    assert scaler["Type"] == "AWS::Scheduler::Schedule"
    properties = scaler["Properties"]
    assert properties["GroupName"] == {"Ref": "DeploymentScheduleGroup"}
    assert properties["ScheduleExpression"] == {"Ref": "ScalerScheduleExpression"}
    assert properties["State"] == "ENABLED"
    assert properties["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = properties["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["DeployerFunction", "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    assert json.loads(target["Input"]) == {"action": "scale"}


@pytest.mark.parametrize(
    ("expression", "valid"),
    [
        ("rate(5 minutes)", True),
        ("rate(1 minute)", True),
        ("rate(1 hour)", True),
        ("rate(15 minutes)", True),
        ("rate(1 minutes)", False),
        ("rate(0 minutes)", False),
        ("cron(0 * * * ? *)", False),
        ("rate(5 seconds)", False),
    ],
)
def test_scaler_rate_parameter(template: dict[str, Any], expression: str, valid: bool) -> None:
    parameter = template["Parameters"]["ScalerScheduleExpression"]
    assert parameter["Default"] == "rate(5 minutes)"
    assert bool(re.fullmatch(parameter["AllowedPattern"], expression)) is valid


def test_deployment_timeout_parameter(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["DeploymentTimeoutSeconds"]
    assert parameter["Type"] == "Number"
    assert parameter["MinValue"] <= parameter["Default"] == 3600 <= parameter["MaxValue"]


# ---------------------------------------------------------------- environment


def test_deployment_settings_are_declared_for_every_function(template: dict[str, Any]) -> None:
    for function_id in ("DataPlaneFunction", "ControlPlaneFunction", "DeployerFunction"):
        env = declared_environment(function_id, template)
        assert {name: env.get(name) for name in DEPLOYMENT_ENV} == DEPLOYMENT_ENV, function_id


def test_deployment_settings_are_the_ones_the_code_reads() -> None:
    """The template and `relay.settings` spell each name once; a typo on either side fails here."""
    settings = (REPO_ROOT / "layers" / "relay" / "relay" / "settings.py").read_text(encoding="utf-8")
    read = env_names_in_python(settings)
    assert set(DEPLOYMENT_ENV) <= read, sorted(set(DEPLOYMENT_ENV) - read)


def test_fixed_name_arns_match_the_resources_they_name(template: dict[str, Any]) -> None:
    """The ARNs built from names (to avoid dependency cycles) must spell the names the resources get."""
    resources = template["Resources"]
    machine_name = resources["DeploymentStateMachine"]["Properties"]["Name"]["Fn::Sub"]
    function_name = resources["DeployerFunction"]["Properties"]["FunctionName"]["Fn::Sub"]
    assert STATE_MACHINE_ARN.endswith(":stateMachine:" + machine_name)
    assert DEPLOYER_ARN.endswith(":function:" + function_name)


@pytest.mark.parametrize("env", ["default", "prod"])
def test_stack_names_are_lower_case(env: str) -> None:
    """SageMaker ARNs are lower-case; IAM scopes hosting grants to "<stack name>-*" as written."""
    with (REPO_ROOT / "samconfig.toml").open("rb") as fh:
        name = tomllib.load(fh)[env]["global"]["parameters"]["stack_name"]
    # Room for "-engine-<id>" inside SageMaker's 63-character endpoint names.
    assert re.fullmatch(r"[a-z][a-z0-9-]{0,23}", name), name


# ---------------------------------------------------------------- IAM


def test_deployer_manages_only_the_stacks_hosting_resources(template: dict[str, Any]) -> None:
    statements = _granting(template, "DeployerRole", "sagemaker:")
    scoped = [s for s in statements if as_list(s["Resource"]) != ["*"]]
    listing = [s for s in statements if as_list(s["Resource"]) == ["*"]]
    assert _actions(scoped) == HOSTING_WRITES | {"sagemaker:AddTags"}
    assert {a.removeprefix("sagemaker:") for a in _actions(listing)} == {
        "ListModels",
        "ListEndpointConfigs",
        "ListEndpoints",
        "ListInferenceComponents",
    }
    expected = sorted(SAGEMAKER_ARN + kind + "/" + PREFIX + "*" for kind in HOSTING_TYPES)
    for statement in scoped:
        assert sorted(_sub(r) for r in as_list(statement["Resource"])) == expected


def test_deployer_passes_only_the_hosting_role(template: dict[str, Any]) -> None:
    passes = _granting(template, "DeployerRole", "iam:")
    assert _actions(passes) == {"iam:PassRole"}
    by_role = {s["Resource"]["Fn::GetAtt"][0]: s["Condition"] for s in passes}
    assert by_role == {
        "SageMakerExecutionRole": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    }


def test_deployer_metrics_records_and_executions(template: dict[str, Any]) -> None:
    # Schedules are the control plane's; the deployer never writes them.
    assert not _granting(template, "DeployerRole", "scheduler:")
    metrics = _granting(template, "DeployerRole", "cloudwatch:")
    assert [(as_list(s["Action"]), s["Resource"]) for s in metrics] == [(["cloudwatch:GetMetricData"], "*")]
    states = _granting(template, "DeployerRole", "states:")
    assert [(as_list(s["Action"]), _sub(s["Resource"])) for s in states] == [
        (["states:StartExecution"], STATE_MACHINE_ARN)
    ]
    records = _granting(template, "DeployerRole", "dynamodb:")
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= _actions(
        records
    )
    assert "dynamodb:Scan" not in _actions(records)
    for statement in records:
        assert all("Table" in json.dumps(r) for r in as_list(statement["Resource"]))
    # No bucket access: the control plane reads checkpoints; SageMaker's own role loads them.
    assert not _granting(template, "DeployerRole", "s3:")
    assert not _granting(template, "DeployerRole", "lambda:")


def test_hosting_role_reads_model_artifacts_and_pulls_images(template: dict[str, Any]) -> None:
    role = template["Resources"]["SageMakerExecutionRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"
    }
    reads = _granting(template, "SageMakerExecutionRole", "s3:")
    assert _actions(reads) == {"s3:GetObject", "s3:ListBucket"}
    objects = [s for s in reads if "s3:GetObject" in as_list(s["Action"])]
    assert {_sub(r) for s in objects for r in as_list(s["Resource"])} == {
        "${Bucket.Arn}/projects/*",
        "${Bucket.Arn}/base-models/*",
    }
    ecr = _granting(template, "SageMakerExecutionRole", "ecr:")
    pulls = [s for s in ecr if s["Resource"] != "*"]
    assert _actions(pulls) == {
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
    }
    assert [_sub(s["Resource"]) for s in pulls] == [
        "arn:${AWS::Partition}:ecr:${AWS::Region}:763104351884:repository/*"
    ]
    assert not _granting(template, "SageMakerExecutionRole", "sagemaker:")


def test_catalogue_images_come_from_the_account_the_hosting_role_pulls_from() -> None:
    catalogue = json.loads(
        (REPO_ROOT / "layers" / "relay" / "relay" / "catalogue" / "base_models.json").read_text(
            encoding="utf-8"
        )
    )
    images = re.findall(r"(\d{12})\.dkr\.ecr\.", json.dumps(catalogue))
    assert images and set(images) == {"763104351884"}


def test_state_machine_role_invokes_only_the_deployer(template: dict[str, Any]) -> None:
    statements = _allows(template, "DeploymentStateMachineRole")
    lambdas = [s for s in statements if any(a.startswith("lambda:") for a in as_list(s["Action"]))]
    assert [as_list(s["Action"]) for s in lambdas] == [["lambda:InvokeFunction"]]
    assert as_list(lambdas[0]["Resource"]) == [
        {"Fn::GetAtt": ["DeployerFunction", "Arn"]},
        {"Fn::Sub": "${DeployerFunction.Arn}:*"},
    ]
    others = _actions(statements) - {
        "lambda:InvokeFunction",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    assert not others


def test_scheduler_role_invokes_only_the_deployer(template: dict[str, Any]) -> None:
    role = template["Resources"]["SchedulerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = _allows(template, "SchedulerRole")
    assert _actions(statements) == {"lambda:InvokeFunction"}
    assert sorted(_sub(r) for s in statements for r in as_list(s["Resource"])) == [
        DEPLOYER_ARN,
        DEPLOYER_ARN + ":*",
    ]


def test_control_plane_starts_deployments_and_manages_their_schedules(template: dict[str, Any]) -> None:
    start = [
        s
        for s in _granting(template, "ControlPlaneRole", "states:")
        if "states:StartExecution" in as_list(s["Action"])
    ]
    assert {json.dumps(s["Resource"]) for s in start} == {
        json.dumps({"Ref": "TrainingStateMachine"}),
        json.dumps({"Ref": "DeploymentStateMachine"}),
    }
    scheduler = _granting(template, "ControlPlaneRole", "scheduler:")
    assert _actions(scheduler) == SCHEDULE_ACTIONS
    assert [as_list(s["Resource"]) for s in scheduler] == [SCHEDULE_ARNS]
    passes = _granting(template, "ControlPlaneRole", "iam:")
    assert [(s["Action"], s["Resource"], s["Condition"]) for s in passes] == [
        (
            "iam:PassRole",
            {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
            {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        )
    ]


def test_control_plane_only_reads_sagemaker_hosting(template: dict[str, Any]) -> None:
    actions = _actions(_granting(template, "ControlPlaneRole", "sagemaker:"))
    hosting = {a for a in actions if not a.endswith("TrainingJob")}
    assert hosting, "the control plane describes endpoints and inference components"
    assert all(a.startswith(("sagemaker:Describe", "sagemaker:List")) for a in hosting), hosting


def test_control_plane_describes_only_the_stacks_inference_components(template: dict[str, Any]) -> None:
    # Deployment and engine details read each inference component's copy count.
    grants = [
        s
        for s in _allows(template, "ControlPlaneRole")
        if "sagemaker:DescribeInferenceComponent" in as_list(s["Action"])
    ]
    arns = {_sub(r) for s in grants for r in as_list(s["Resource"])}
    assert SAGEMAKER_ARN + "inference-component/" + PREFIX + "*" in arns
    assert all(a.startswith(SAGEMAKER_ARN) and a.endswith(PREFIX + "*") for a in arns), arns


def test_data_plane_only_hands_reactivation_to_the_deployer(template: dict[str, Any]) -> None:
    lambdas = _granting(template, "DataPlaneRole", "lambda:")
    assert [(as_list(s["Action"]), s["Resource"]) for s in lambdas] == [
        (["lambda:InvokeFunction"], {"Fn::GetAtt": ["DeployerFunction", "Arn"]})
    ]
    actions = _actions(_allows(template, "DataPlaneRole"))
    assert {a for a in actions if a.startswith("sagemaker:")} == {
        "sagemaker:InvokeEndpoint",
        "sagemaker:InvokeEndpointWithResponseStream",
    }
    assert not {a for a in actions if a.startswith(("states:", "scheduler:", "iam:"))}


# ---------------------------------------------------------------- documentation


def test_readme_lists_every_stack_parameter(template: dict[str, Any]) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = {
        m for row in re.findall(r"^\| (.+?) \|", readme, re.MULTILINE) for m in re.findall(r"`(\w+)`", row)
    }
    missing = sorted(name for name in template["Parameters"] if name not in table)
    assert not missing, f"README's parameter table lacks {missing}"


def test_readme_states_each_engine_instance_and_price_from_the_catalogue() -> None:
    catalogue = json.loads(
        (REPO_ROOT / "layers" / "relay" / "relay" / "catalogue" / "base_models.json").read_text(
            encoding="utf-8"
        )
    )
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Deploy a fine-tuned model") :]
    served = [m for m in catalogue["models"] if "serving" in m]
    assert served
    for model in served:
        serving = model["serving"]
        row = f"| {model['name']} | {serving['instance_type']} | ~${serving['hourly_usd']:.2f}/h |"
        assert row in section, row
    assert "for endpoint usage" in section and "several minutes" in section
