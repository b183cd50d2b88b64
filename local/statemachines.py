"""Functions, roles and Step Functions state machines of template.yaml, on the local stack.

Functions are not deployed anywhere: each gets an ARN, and `local.functions` runs its handler
in-process when a state machine or the Lambda Invoke API calls it. State machines are created
on moto from their DefinitionUri file with DefinitionSubstitutions applied, exactly as
CloudFormation does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from local.functions import LocalFunction
from local.template import resources_of_type

ACCOUNT = "123456789012"
REPO = Path(__file__).resolve().parent.parent


def _slug(logical_id: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", logical_id.lower()).strip("-")


def name_functions_and_roles(
    template: dict[str, Any], names: dict[str, str], region: str, resolver: Any
) -> list[LocalFunction]:
    """Record ARNs for functions, roles and log groups (what Refs and GetAtts resolve to).

    A function with a FunctionName gets that name, as on AWS: ARNs the template builds from it
    (to avoid dependency cycles) then name the function the local stack runs.
    """
    functions = []
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        fixed = resource.get("Properties", {}).get("FunctionName")
        name = str(resolver.resolve(fixed)) if fixed else f"relay-local-{_slug(logical_id)}"
        arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
        names[logical_id] = arn
        properties = resource.get("Properties", {})
        if isinstance(properties.get("CodeUri"), str) and isinstance(properties.get("Handler"), str):
            functions.append(
                LocalFunction(
                    name,
                    arn,
                    REPO / properties["CodeUri"],
                    properties["Handler"],
                    int(properties.get("MemorySize", 1024)),
                    _on_failure(properties, resolver),
                )
            )
    for logical_id in resources_of_type(template, "AWS::IAM::Role"):
        names[logical_id] = f"arn:aws:iam::{ACCOUNT}:role/relay-local-{_slug(logical_id)}"
    for logical_id in resources_of_type(template, "AWS::Logs::LogGroup"):
        names[logical_id] = f"/aws/lambda/relay-local/{_slug(logical_id)}"
    return functions


def _on_failure(properties: dict[str, Any], resolver: Any) -> str | None:
    """The SQS queue a failed asynchronous invoke is recorded on (queues are created before this)."""
    destination = properties.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure")
    if not destination or destination.get("Type") != "SQS":
        return None
    return str(resolver.resolve(destination["Destination"]))


def _substitute(definition: str, substitutions: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(substitutions[key]) if key in substitutions else match.group(0)

    return re.sub(r"\$\{([A-Za-z0-9_.]+)\}", replace, definition)


def create_state_machines(
    session: Any, template: dict[str, Any], names: dict[str, str], resolver: Any, region: str
) -> None:
    """Create (or update) every AWS::Serverless::StateMachine on the endpoint `session` points at."""
    machines = resources_of_type(template, "AWS::Serverless::StateMachine")
    if not machines:
        return
    sfn = session.client("stepfunctions", region_name=region)
    existing = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines().get("stateMachines", [])}
    for logical_id, resource in machines.items():
        properties = resource["Properties"]
        name = str(resolver.resolve(properties.get("Name") or f"relay-local-{_slug(logical_id)}"))
        substitutions = {
            key: resolver.resolve(value)
            for key, value in properties.get("DefinitionSubstitutions", {}).items()
        }
        definition = _substitute(
            (REPO / properties["DefinitionUri"]).read_text(encoding="utf-8"), substitutions
        )
        json.loads(definition)  # a bad substitution fails here, not in the first execution
        role = str(resolver.resolve(properties["Role"]))
        if name in existing:
            sfn.update_state_machine(stateMachineArn=existing[name], definition=definition, roleArn=role)
            names[logical_id] = existing[name]
        else:
            created = sfn.create_state_machine(
                name=name, definition=definition, roleArn=role, type=properties.get("Type", "STANDARD")
            )
            names[logical_id] = created["stateMachineArn"]
