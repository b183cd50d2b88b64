"""Create, on the local stack, the resources template.yaml declares — read from the template.

Only the template says which tables, buckets and secrets exist and which environment
the functions get, so the local stack cannot drift from what `sam deploy` creates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.functions import LocalFunction
from local.messaging import EventSource, create_event_sources, create_queues_and_buses
from local.schedules import LocalSchedule, create_schedules
from local.statemachines import create_state_machines, name_functions_and_roles
from local.template import load_template, resources_of_type

REPO = Path(__file__).resolve().parent.parent
FUNCTION_TYPES = ("AWS::Serverless::Function",)
# Variables that configure the Lambda runtime or the Web Adapter, not the app.
_RUNTIME_ONLY = re.compile(r"^(AWS_|PORT$|_)")


@dataclass
class LocalResources:
    names: dict[str, str] = field(default_factory=dict)  # logical id -> physical name or ARN
    admin_key: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    functions: list[LocalFunction] = field(default_factory=list)  # run in-process by state machines
    schedules: list[LocalSchedule] = field(default_factory=list)  # in moto's Scheduler; rates fired locally
    event_sources: list[EventSource] = field(default_factory=list)  # queues local.delivery polls


class _Resolver:
    def __init__(self, template: dict[str, Any], names: dict[str, str], region: str) -> None:
        self.template = template
        self.names = names
        self.region = region
        self.parameters = {
            name: spec.get("Default", "") for name, spec in template.get("Parameters", {}).items()
        }

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": "123456789012",
            "AWS::StackName": "relay-local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            spec = self.template["Parameters"][name]
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                return [v.strip() for v in value.split(",")] if value else []
            return value
        if name in self.names:
            return self.names[name]
        raise KeyError(f"template.yaml refers to {name}, which the local stack does not create")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::Join":
                return arg[0].join(str(v) for v in self.resolve(arg[1]))
            if fn == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if fn == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if fn == "Fn::Not":
                return not self.resolve(arg[0])
            if fn == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if fn == "Condition":
                return self.condition(arg)
            if fn == "Fn::GetAtt":
                # `Logical.Attr` where a resource has several (a queue's Ref is its URL, its Arn differs).
                return self.names.get(f"{arg[0]}.{arg[1]}", self.names[arg[0]])
            if fn == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return re.sub(
                    r"\$\{([^}]+)\}",
                    lambda m: str(
                        self.resolve(extra[m[1]]) if m[1] in extra else self.ref(m[1].split(".")[0])
                    ),
                    text,
                )
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def physical_name(logical_id: str, kind: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", logical_id.lower()).strip("-")
    return f"relay-local-{slug}" if kind != "bucket" else f"relay-local-{slug}-bucket"


def create_resources(
    session: Any, admin_key: str, region: str, template: dict[str, Any] | None = None
) -> LocalResources:
    """Create tables, buckets, secrets, schedules and state machines on the endpoints `session` points at."""
    template = template or load_template()
    out = LocalResources(admin_key=admin_key)
    ddb = session.client("dynamodb", region_name=region)
    for logical_id, res in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = res.get("Properties", {})
        name = physical_name(logical_id, "table")
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = [
                {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")}
                for gsi in props["GlobalSecondaryIndexes"]
            ]
        if name not in ddb.list_tables().get("TableNames", []):
            ddb.create_table(**kwargs)
            ttl = props.get("TimeToLiveSpecification")
            if ttl and ttl.get("Enabled"):
                ddb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
                )
        out.names[logical_id] = name
    s3 = session.client("s3", region_name=region)
    for logical_id in resources_of_type(template, "AWS::S3::Bucket"):
        name = physical_name(logical_id, "bucket")
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if name not in existing:
            s3.create_bucket(Bucket=name)
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        out.names[logical_id] = name
    secrets = session.client("secretsmanager", region_name=region)
    for logical_id in resources_of_type(template, "AWS::SecretsManager::Secret"):
        name = physical_name(logical_id, "secret")
        try:
            arn = secrets.create_secret(Name=name, SecretString=admin_key)["ARN"]
        except secrets.exceptions.ResourceExistsException:
            arn = secrets.put_secret_value(SecretId=name, SecretString=admin_key)["ARN"]
        out.names[logical_id] = arn
    resolver = _Resolver(template, out.names, region)
    create_queues_and_buses(session, template, out.names, resolver, region)
    out.functions = name_functions_and_roles(template, out.names, region, resolver)
    out.schedules = create_schedules(session, template, out.names, resolver, region)
    create_state_machines(session, template, out.names, resolver, region)
    out.event_sources = create_event_sources(session, template, out.names, resolver, region, out.functions)
    out.environment = function_environment(template, out.names, region)
    return out


def function_environment(template: dict[str, Any], names: dict[str, str], region: str) -> dict[str, str]:
    """The app's environment variables, as the template gives them to its functions."""
    resolver = _Resolver(template, names, region)
    merged: dict[str, Any] = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    for res in template.get("Resources", {}).values():
        if res.get("Type") in FUNCTION_TYPES:
            merged.update(res.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    env: dict[str, str] = {}
    for key, raw in merged.items():
        if _RUNTIME_ONLY.match(key):
            continue
        value = resolver.resolve(raw)
        if value is None:
            continue
        env[key] = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return env
