"""Least privilege in template.yaml: scoped table writes, object prefixes, model patterns, the
"*" resources that remain (each with its reason), and an optional customer-managed KMS key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .stack import as_list, policy_statements

pytestmark = pytest.mark.infra

# Every statement whose Resource is "*" may hold only these actions, each for the reason given.
STAR_RESOURCES = {
    "xray:PutTraceSegments": "X-Ray takes trace data for the whole account; there is no trace resource",
    "xray:PutTelemetryRecords": "as PutTraceSegments",
    "bedrock:ListFoundationModels": "a List call over the account's catalogue, not one model",
    "bedrock:ListInferenceProfiles": "a List call over the account's catalogue, not one profile",
    "bedrock:Rerank": "no resource type; the reranking model is checked through bedrock:InvokeModel",
    "sagemaker:ListModels": "SageMaker authorises List calls on * only; every change is prefix-scoped",
    "sagemaker:ListEndpointConfigs": "as ListModels",
    "sagemaker:ListEndpoints": "as ListModels",
    "sagemaker:ListInferenceComponents": "as ListModels",
    "sagemaker:ListTrainingJobs": "as ListModels",
    "cloudwatch:GetMetricData": "CloudWatch metric reads have no resource type",
    "cloudwatch:PutMetricData": "CloudWatch metric writes have no resource type (namespace is a condition)",
    "ecr:GetAuthorizationToken": "the registry login token is account-wide; image pulls stay repository-scoped",
}
BEDROCK_ARN = "arn:*:bedrock:"


def _documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner, statement) for every inline role policy and every managed policy."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            for statement in policy_statements(resource):
                yield logical_id, statement
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            wrapped = {
                "Properties": {"Policies": [{"PolicyDocument": resource["Properties"]["PolicyDocument"]}]}
            }
            for statement in policy_statements(wrapped):
                yield logical_id, statement


def _statements(template: dict[str, Any], owner: str, action: str) -> list[dict[str, Any]]:
    return [s for o, s in _documents(template) if o == owner and action in as_list(s["Action"])]


def test_the_data_plane_updates_only_key_last_used_times_and_its_counters(template: dict[str, Any]) -> None:
    updates = _statements(template, "DataPlaneRole", "dynamodb:UpdateItem")
    assert updates
    leading: set[str] = set()
    for statement in updates:
        condition = statement["Condition"]
        keys = condition.get("ForAllValues:StringLike", condition.get("ForAllValues:StringEquals", {}))
        assert keys.get("dynamodb:LeadingKeys"), statement
        leading |= set(keys["dynamodb:LeadingKeys"])
        if "APIKEY" in keys["dynamodb:LeadingKeys"]:
            # A key item may only get its last-used time: never its hash, name or policy.
            assert keys["dynamodb:LeadingKeys"] == ["APIKEY"]
            assert set(condition["ForAllValues:StringEquals"]["dynamodb:Attributes"]) == {
                "pk",
                "sk",
                "last_used_at",
            }
    assert leading == {"APIKEY", "LIMIT#*", "USAGE#*"}


def _object_resources(template: dict[str, Any], owner: str, action: str) -> set[str]:
    return {
        str(r.get("Fn::Sub", r)) for s in _statements(template, owner, action) for r in as_list(s["Resource"])
    }


def test_the_control_plane_writes_objects_only_under_its_own_prefixes(template: dict[str, Any]) -> None:
    puts = _object_resources(template, "ControlPlaneRole", "s3:PutObject")
    assert puts == {"${Bucket.Arn}/projects/*", "${Bucket.Arn}/staging/*", "${Bucket.Arn}/files/*"}
    for action in ("s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
        assert "${Bucket.Arn}/*" not in _object_resources(template, "ControlPlaneRole", action)


def test_the_training_role_lists_only_the_prefixes_it_reads_and_writes(template: dict[str, Any]) -> None:
    (listing,) = _statements(template, "TrainingJobRole", "s3:ListBucket")
    prefixes = listing["Condition"]["StringLike"]["s3:prefix"]
    assert set(prefixes) == {"base-models/*", "training-code/*", "projects/*/training/*"}


def _joined_patterns(resource: Any) -> str | None:
    """The ARN prefix a resource list built from AllowedBedrockModels puts before each pattern."""
    split = resource.get("Fn::Split") if isinstance(resource, dict) else None
    if not split or split[0] != ",":
        return None
    first, rest = split[1]["Fn::Join"][1]
    delimiter, patterns = rest["Fn::Join"]
    assert patterns == {"Ref": "AllowedBedrockModels"} and delimiter == "," + first
    return str(first)


@pytest.mark.parametrize("owner", ["DataPlaneRole", "RequestInferencePolicy"])
def test_bedrock_invoke_follows_the_allowed_model_patterns(template: dict[str, Any], owner: str) -> None:
    built: dict[str, dict[str, Any]] = {}
    by_arn: list[str] = []
    for statement in _statements(template, owner, "bedrock:InvokeModel"):
        assert "bedrock:InvokeModelWithResponseStream" in as_list(statement["Action"])
        resource = statement["Resource"]
        prefix = _joined_patterns(resource)
        if prefix is not None:
            built[prefix] = statement
            continue
        if "Condition" in statement:
            continue  # the through-profile grant, checked below
        for arn in as_list(resource):
            by_arn.append(str(arn["Fn::Sub"]))
    direct = BEDROCK_ARN + "*::foundation-model/"
    profiles = BEDROCK_ARN + "*:*:inference-profile/"
    assert set(built) == {direct, profiles}
    assert "Condition" not in built[direct] and "Condition" not in built[profiles]
    # A model reached through an allowed cross-region profile: any foundation model, only via one.
    (routed,) = [
        s
        for s in _statements(template, owner, "bedrock:InvokeModel")
        if s.get("Condition", {}).get("StringLike", {}).get("bedrock:InferenceProfileArn")
    ]
    assert _joined_patterns(routed["Condition"]["StringLike"]["bedrock:InferenceProfileArn"]) == profiles
    # ARNs no model id pattern can name (application profiles, custom, imported, provisioned).
    for arn in by_arn:
        assert ":foundation-model/" not in arn and ":inference-profile/" not in arn, arn
        assert arn.endswith("/*") and "${AWS::AccountId}" in arn


def test_every_star_resource_is_on_the_allow_list(template: dict[str, Any]) -> None:
    for owner, statement in _documents(template):
        if "*" in as_list(statement.get("Resource")):
            unexplained = set(as_list(statement["Action"])) - set(STAR_RESOURCES)
            assert not unexplained, (owner, statement.get("Sid"), unexplained)


def _has_kms(value: Any) -> bool:
    return "HasKmsKey" in str(value)


def test_an_optional_customer_managed_key_encrypts_the_bucket_table_and_log_groups(
    template: dict[str, Any],
) -> None:
    parameter = template["Parameters"]["KmsKeyArn"]
    assert parameter["Default"] == "" and "KMS" in parameter["Description"]
    assert template["Conditions"]["HasKmsKey"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}]}
    resources = template["Resources"]
    bucket = resources["Bucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert _has_kms(bucket) and "aws:kms" in str(bucket) and "AES256" in str(bucket)
    assert _has_kms(resources["Table"]["Properties"]["SSESpecification"])
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Logs::LogGroup":
            assert _has_kms(resource["Properties"].get("KmsKeyId")), logical_id
    (use,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and r.get("Condition") == "HasKmsKey"
    ]
    (statement,) = use["Properties"]["PolicyDocument"]["Statement"]
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(statement["Action"])
    assert statement["Resource"] == {"Ref": "KmsKeyArn"}
    attached = {r["Ref"] for r in use["Properties"]["Roles"]}
    # Every role that reads or writes the bucket's objects.
    readers = {
        owner
        for owner, s in _documents(template)
        if owner in resources
        and resources[owner]["Type"] == "AWS::IAM::Role"
        and any(a in ("s3:GetObject", "s3:PutObject") for a in as_list(s["Action"]))
    }
    assert readers <= attached, readers - attached
