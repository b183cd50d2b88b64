"""Checks on the CloudFormation that SAM makes of template.yaml: streaming, IAM, data safety."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .stack import (
    CONTROL_ROUTES,
    INFERENCE_ROUTES,
    REPO_ROOT,
    api_integrations,
    as_list,
    policy_statements,
)

pytestmark = pytest.mark.infra

STREAM_TIMEOUT_MS = 15 * 60 * 1000

# Actions that may be granted on Resource "*" because IAM offers no resource-level permission
# for them (Service Authorization Reference lists no resource type):
STAR_ALLOWED = {
    # X-Ray accepts trace data for the whole account; there is no trace resource to name.
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    # List calls over the account's catalogue, not over one model.
    "bedrock:ListFoundationModels",
    "bedrock:ListInferenceProfiles",
    # Rerank has no resource type; the reranking model itself is checked through
    # bedrock:InvokeModel, which stays scoped to model ARNs.
    "bedrock:Rerank",
    # SageMaker's List calls are authorised on "*" only; every Describe, Create, Update and
    # Delete stays scoped to names under the stack's prefix.
    "sagemaker:ListModels",
    "sagemaker:ListEndpointConfigs",
    "sagemaker:ListEndpoints",
    "sagemaker:ListInferenceComponents",
    # GetMetricData has no resource type; the scaler reads SageMaker's Invocations metric with it.
    "cloudwatch:GetMetricData",
    # An ECR login token is account-wide; the image pulls it enables are scoped to repositories.
    "ecr:GetAuthorizationToken",
}


def _uri(integration: dict[str, Any]) -> str:
    uri = integration["uri"]
    return uri["Fn::Sub"] if isinstance(uri, dict) else uri


def _refers_to(value: Any, logical_id: str) -> bool:
    """True when an intrinsic (Ref, GetAtt or a Sub placeholder) names `logical_id`."""
    text = json.dumps(value)
    return bool(
        re.search(rf'"Ref": "{logical_id}"', text)
        or re.search(rf'"Fn::GetAtt": \["{logical_id}"', text)
        or re.search(rf"\$\{{{logical_id}[}}.]", text)
    )


def _resources(transformed: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in transformed["Resources"].items() if v["Type"] == resource_type}


def _role_of(transformed: dict[str, Any], function_id: str) -> tuple[str, dict[str, Any]]:
    role_ref = transformed["Resources"][function_id]["Properties"]["Role"]
    role_id = role_ref["Fn::GetAtt"][0]
    return role_id, transformed["Resources"][role_id]


def _allows(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in policy_statements(role) if s["Effect"] == "Allow"]


def _actions(role: dict[str, Any]) -> set[str]:
    return {action for s in _allows(role) for action in as_list(s["Action"])}


# ---------------------------------------------------------------- routes and streaming


def test_every_contract_route_exists(transformed: dict[str, Any]) -> None:
    routes = set(api_integrations(transformed))
    missing = [route for route in INFERENCE_ROUTES + CONTROL_ROUTES if route not in routes]
    assert not missing


@pytest.mark.parametrize(("path", "method"), INFERENCE_ROUTES)
def test_inference_route_streams_from_the_live_alias(
    transformed: dict[str, Any], path: str, method: str
) -> None:
    integration = api_integrations(transformed)[(path, method)]
    uri = _uri(integration)
    assert integration["type"] == "aws_proxy"
    assert "/2021-11-15/functions/" in uri and uri.endswith("/response-streaming-invocations"), uri
    assert integration.get("responseTransferMode") == "STREAM"
    assert integration.get("timeoutInMillis") == STREAM_TIMEOUT_MS
    # SnapStart only applies to published versions: API Gateway must call the alias.
    assert "${DataPlaneFunctionAliaslive}" in uri


@pytest.mark.parametrize(("path", "method"), CONTROL_ROUTES)
def test_control_route_is_buffered(transformed: dict[str, Any], path: str, method: str) -> None:
    integration = api_integrations(transformed)[(path, method)]
    uri = _uri(integration)
    assert "response-streaming-invocations" not in uri and uri.endswith("/invocations"), uri
    assert integration.get("responseTransferMode", "BUFFERED") == "BUFFERED"
    assert "${ControlPlaneFunction.Arn}" in uri


def test_each_function_streams_or_buffers_consistently(transformed: dict[str, Any]) -> None:
    """Routes added later inherit the rule: data plane streams, control plane does not."""
    for route, integration in api_integrations(transformed).items():
        uri = _uri(integration)
        streams = "response-streaming-invocations" in uri
        if "DataPlaneFunction" in uri:
            assert streams, route
        else:
            assert not streams, route


def test_api_accepts_binary_uploads_on_a_regional_endpoint(transformed: dict[str, Any]) -> None:
    api = transformed["Resources"]["Api"]["Properties"]
    assert {"multipart/form-data", "application/octet-stream"} <= set(
        api["Body"]["x-amazon-apigateway-binary-media-types"]
    )
    # Edge-optimized endpoints cut an idle stream after 30 s; regional ones after 5 minutes.
    assert api["EndpointConfiguration"]["Types"] == ["REGIONAL"]
    stages = _resources(transformed, "AWS::ApiGateway::Stage")
    assert [s["Properties"]["StageName"] for s in stages.values()] == [{"Ref": "StageName"}]


def test_parameters_contract(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["StageName"]["Default"] == "prod"
    assert parameters["ModelsRequireKey"]["Default"] == "true"
    assert sorted(parameters["ModelsRequireKey"]["AllowedValues"]) == ["false", "true"]
    assert parameters["AllowedBedrockModels"]["Type"] == "CommaDelimitedList"
    assert parameters["AllowedBedrockModels"]["Default"] == "*"
    assert parameters["GuardrailIdentifier"]["Default"] == parameters["GuardrailVersion"]["Default"] == ""


def test_outputs_contract(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    expected = {"BaseUrl", "AdminKeySecretArn", "AdminKeySecretConsoleUrl", "TableName", "BucketName"}
    assert expected | {"DataPlaneFunctionName", "ControlPlaneFunctionName"} <= set(outputs)
    console = outputs["AdminKeySecretConsoleUrl"]["Value"]["Fn::Sub"]
    assert console.startswith("https://${AWS::Region}.console.aws.amazon.com/secretsmanager/secret?name=")
    # The console URL names the secret, so the secret's name must be the one the URL spells.
    name = template["Resources"]["AdminKeySecret"]["Properties"]["Name"]["Fn::Sub"]
    assert f"?name={name}&region=${{AWS::Region}}" in console


def test_base_url_output_ends_in_v1(template: dict[str, Any]) -> None:
    value = template["Outputs"]["BaseUrl"]["Value"]["Fn::Sub"]
    assert value == "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}/v1"


# ---------------------------------------------------------------- functions


def test_data_plane_runs_behind_the_web_adapter_with_snapstart(transformed: dict[str, Any]) -> None:
    function = transformed["Resources"]["DataPlaneFunction"]["Properties"]
    assert function["Handler"] == "run.sh"
    assert (function["Runtime"], function["Architectures"]) == ("python3.13", ["arm64"])
    assert (function["Timeout"], function["MemorySize"]) == (900, 1024)
    assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    layers = json.dumps(function["Layers"])
    assert re.search(r":753240598075:layer:LambdaAdapterLayerArm64:\d+", layers)
    assert '"Ref": "RelayLayer' in layers
    env = function["Environment"]["Variables"]
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert env["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    # SnapStart hooks (relay/lifecycle.py), which the app serves on loopback only.
    assert env["AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH"] == "/_relay/snapstart/before-checkpoint"
    assert env["AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH"] == "/_relay/snapstart/after-restore"
    assert env["PORT"] == "8080"
    # run.sh replaces the runtime bootstrap that would put the layer on sys.path.
    run_sh = (REPO_ROOT / "functions" / "data_plane" / "run.sh").read_text(encoding="utf-8")
    assert "/opt/python" in env.get("PYTHONPATH", "") or "/opt/python" in run_sh

    aliases = _resources(transformed, "AWS::Lambda::Alias")
    assert aliases["DataPlaneFunctionAliaslive"]["Properties"]["Name"] == "live"
    assert aliases["DataPlaneFunctionAliaslive"]["Properties"]["FunctionName"] == {"Ref": "DataPlaneFunction"}
    versions = _resources(transformed, "AWS::Lambda::Version")
    assert any(v["Properties"]["FunctionName"] == {"Ref": "DataPlaneFunction"} for v in versions.values())


def test_no_api_route_reaches_the_internal_paths(transformed: dict[str, Any]) -> None:
    """`/_relay/*` (the SnapStart hooks) is for the Web Adapter on loopback: API Gateway routes no
    path there, and no route's first segment is a path parameter that could catch it."""
    paths = {path for path, _ in api_integrations(transformed)}
    assert paths
    assert not [p for p in paths if p.startswith("/_relay") or p.split("/")[1].startswith("{")]


def test_control_plane_is_a_plain_handler(transformed: dict[str, Any]) -> None:
    function = transformed["Resources"]["ControlPlaneFunction"]["Properties"]
    assert function["Handler"] == "handler.lambda_handler"
    assert (function["Runtime"], function["Architectures"], function["Timeout"]) == (
        "python3.13",
        ["arm64"],
        30,
    )
    assert '"Ref": "RelayLayer' in json.dumps(function["Layers"])


def test_relay_layer_is_built_for_arm64(template: dict[str, Any]) -> None:
    layer = template["Resources"]["RelayLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/relay"
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}


# ---------------------------------------------------------------- IAM


def test_each_function_has_its_own_role(transformed: dict[str, Any]) -> None:
    functions = _resources(transformed, "AWS::Lambda::Function")
    roles = {fid: _role_of(transformed, fid)[0] for fid in functions}
    assert roles["DataPlaneFunction"] == "DataPlaneRole"
    assert roles["ControlPlaneFunction"] == "ControlPlaneRole"
    assert len(set(roles.values())) == len(roles), roles


# AWS-managed policies a role may carry although this check cannot read them, each with why.
AWS_MANAGED_ALLOWED = {
    # API Gateway's account-wide logging role (AWS::ApiGateway::Account) is documented with
    # exactly this policy; only the apigateway.amazonaws.com service assumes it.
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
}


def _managed_statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """Allow statements of a managed policy the stack defines (both branches of a conditional one)."""
    wrapped = {"Properties": {"Policies": [{"PolicyDocument": policy["Properties"]["PolicyDocument"]}]}}
    return [s for s in policy_statements(wrapped) if s["Effect"] == "Allow"]


def test_no_wildcard_grants(transformed: dict[str, Any]) -> None:
    managed = _resources(transformed, "AWS::IAM::ManagedPolicy")
    grants = {role_id: _allows(role) for role_id, role in _resources(transformed, "AWS::IAM::Role").items()}
    grants |= {policy_id: _managed_statements(policy) for policy_id, policy in managed.items()}
    for role_id, role in _resources(transformed, "AWS::IAM::Role").items():
        # A managed policy is either the stack's own (checked below like inline ones) or allow-listed.
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            own = isinstance(arn, dict) and arn.get("Ref") in managed
            assert own or (isinstance(arn, dict) and arn.get("Fn::Sub") in AWS_MANAGED_ALLOWED), (
                role_id,
                arn,
            )
    for holder_id, statements in grants.items():
        for statement in statements:
            actions = as_list(statement["Action"])
            assert all("*" not in action for action in actions), (holder_id, statement)
            if "*" in as_list(statement["Resource"]):
                assert set(actions) <= STAR_ALLOWED, (holder_id, statement.get("Sid"), actions)


@pytest.mark.parametrize(
    ("prefix", "owner"),
    [
        ("dynamodb:", "Table"),
        ("s3:", "Bucket"),
        ("secretsmanager:", "AdminKeySecret"),
        ("logs:", "{plane}LogGroup"),
    ],
)
def test_grants_are_scoped_to_the_stacks_own_resources(
    transformed: dict[str, Any], prefix: str, owner: str
) -> None:
    for plane in ("DataPlane", "ControlPlane"):
        owner_id = owner.format(plane=plane)
        for statement in _allows(transformed["Resources"][f"{plane}Role"]):
            if any(action.startswith(prefix) for action in as_list(statement["Action"])):
                assert all(_refers_to(r, owner_id) for r in as_list(statement["Resource"])), (
                    plane,
                    statement,
                )


def test_data_plane_reads_but_does_not_manage(transformed: dict[str, Any]) -> None:
    actions = _actions(_role_of(transformed, "DataPlaneFunction")[1])
    expected = {
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
        "bedrock:Rerank",
        "bedrock:ApplyGuardrail",
        "sagemaker:InvokeEndpoint",
        "sagemaker:InvokeEndpointWithResponseStream",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue",
        "bedrock:ListFoundationModels",
        "bedrock:ListInferenceProfiles",
        "bedrock:GetFoundationModel",
    }
    assert expected <= actions
    # Writes are allowed only where stored responses live: items whose partition key is
    # RESPONSE#<id>, and objects under responses/.
    forbidden = {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan", "s3:PutObject", "s3:GetObject"}
    role = _role_of(transformed, "DataPlaneFunction")[1]
    for statement in _allows(role):
        granted = set(as_list(statement["Action"])) & forbidden
        if not granted:
            continue
        assert "dynamodb:Scan" not in granted, statement
        if any(a.startswith("dynamodb:") for a in granted):
            condition = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            assert condition == ["RESPONSE#*"], statement
        else:
            resources = [json.dumps(r) for r in as_list(statement["Resource"])]
            assert resources and all("/responses/*" in r for r in resources), statement


def test_control_plane_manages_but_does_not_infer(transformed: dict[str, Any]) -> None:
    actions = _actions(_role_of(transformed, "ControlPlaneFunction")[1])
    expected = {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "secretsmanager:GetSecretValue",
        "sagemaker:DescribeEndpoint",
        "bedrock:ListFoundationModels",
    }
    assert expected <= actions
    assert not {a for a in actions if a.startswith(("bedrock:Invoke", "sagemaker:Invoke"))}


def test_control_plane_invokes_only_its_workers(transformed: dict[str, Any]) -> None:
    """Large dataset uploads go to the pipeline worker, engine deactivation and teardown to the
    deployer, created batches to the batch function; no other function is reachable."""
    statements = [
        s
        for s in _allows(_role_of(transformed, "ControlPlaneFunction")[1])
        if any(a.startswith("lambda:") for a in as_list(s["Action"]))
    ]
    assert [as_list(s["Action"]) for s in statements] == [["lambda:InvokeFunction"]] * 3
    # The batch function's ARN is built from its fixed name (it invokes itself to go on).
    batch = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-batch"
    assert sorted(json.dumps(as_list(s["Resource"])) for s in statements) == sorted(
        json.dumps(resource)
        for resource in (
            [{"Fn::GetAtt": ["PipelineFunction", "Arn"]}],
            [{"Fn::GetAtt": ["DeployerFunction", "Arn"]}],
            [{"Fn::Sub": batch}],
        )
    )
    functions = transformed["Resources"]
    batch_name = next(
        r["Properties"]["FunctionName"]
        for r in functions.values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("FunctionName") == {"Fn::Sub": "${AWS::StackName}-batch"}
    )
    assert batch.endswith(":function:" + batch_name["Fn::Sub"])
    env = transformed["Resources"]["ControlPlaneFunction"]["Properties"]["Environment"]["Variables"]
    assert env["RELAY_WORKER_FUNCTION_NAME"] == {"Ref": "PipelineFunction"}


def test_pipeline_worker_removes_only_refused_dataset_objects(transformed: dict[str, Any]) -> None:
    role = _role_of(transformed, "PipelineFunction")[1]
    for statement in _allows(role):
        if {"s3:DeleteObject", "s3:DeleteObjectVersion"} & set(as_list(statement["Action"])):
            # Refused uploads, and staged ones no record waits for (the staging sweep).
            assert as_list(statement["Resource"]) == [
                {"Fn::Sub": "${Bucket.Arn}/projects/*/datasets/*"},
                {"Fn::Sub": "${Bucket.Arn}/staging/*"},
            ]
    assert {"s3:GetObject", "s3:ListBucketVersions", "dynamodb:GetItem", "dynamodb:UpdateItem"} <= _actions(
        role
    )


def test_bedrock_invoke_is_limited_to_model_arns(transformed: dict[str, Any]) -> None:
    role = transformed["Resources"]["DataPlaneRole"]
    for statement in _allows(role):
        if "bedrock:InvokeModel" in as_list(statement["Action"]):
            if "Fn::Split" in statement["Resource"]:
                continue  # built from AllowedBedrockModels (test_security_iam checks those)
            for resource in as_list(statement["Resource"]):
                arn = resource["Fn::Sub"]
                assert re.fullmatch(
                    r"arn:\$\{AWS::Partition\}:bedrock:(\*|\$\{AWS::Region\}):(\$\{AWS::AccountId\})?:"
                    r"(foundation-model|inference-profile|application-inference-profile|custom-model"
                    r"|custom-model-deployment|imported-model|provisioned-model)/\*",
                    arn,
                ), arn


def test_guardrail_grant_exists_only_when_a_guardrail_is_set(template: dict[str, Any]) -> None:
    statements = template["Resources"]["DataPlaneRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    conditional = [s for s in statements if "Fn::If" in s]
    assert len(conditional) == 1
    condition, granted, otherwise = conditional[0]["Fn::If"]
    assert condition == "HasGuardrail" and otherwise == {"Ref": "AWS::NoValue"}
    assert granted["Action"] == "bedrock:ApplyGuardrail"
    assert granted["Resource"]["Fn::Sub"].endswith(":guardrail/${GuardrailIdentifier}")


# ---------------------------------------------------------------- data at rest


def test_bucket_policy_denies_plain_http(transformed: dict[str, Any]) -> None:
    policy = transformed["Resources"]["BucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "Bucket"}
    deny = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(
        s["Principal"] == "*"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and s["Action"] in ("s3:*", ["s3:*"])
        and len(as_list(s["Resource"])) == 2
        and all(_refers_to(r, "Bucket") for r in as_list(s["Resource"]))
        for s in deny
    )


def test_bucket_is_private_encrypted_and_versioned(transformed: dict[str, Any]) -> None:
    bucket = transformed["Resources"]["Bucket"]["Properties"]
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    # SSE-KMS with the stack's customer-managed key when KmsKeyArn is set, SSE-S3 otherwise.
    for branch in encryption["Fn::If"][1:] if "Fn::If" in encryption else [encryption]:
        assert branch["ServerSideEncryptionByDefault"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert any(r["Status"] == "Enabled" and "AbortIncompleteMultipartUpload" in r for r in rules)


def test_table_schema_and_protection(transformed: dict[str, Any]) -> None:
    table = transformed["Resources"]["Table"]
    properties = table["Properties"]
    assert table.get("DeletionPolicy") == "Retain"
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
    assert types == {"pk": "S", "sk": "S", "gsi1pk": "S", "gsi1sk": "S"}
    (gsi,) = properties["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1" and gsi["Projection"] == {"ProjectionType": "ALL"}
    assert gsi["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_admin_key_is_a_plain_generated_string(transformed: dict[str, Any]) -> None:
    generate = transformed["Resources"]["AdminKeySecret"]["Properties"]["GenerateSecretString"]
    assert generate["PasswordLength"] == 48
    assert generate["ExcludePunctuation"] is True
    # With a template and key the secret would be JSON; the app compares the raw string.
    assert "SecretStringTemplate" not in generate and "GenerateStringKey" not in generate
