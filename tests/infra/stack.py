"""Readers of template.yaml shared by the infra tests (and usable by other tiers).

`declared_environment` is the one to reach for: the environment a function gets once the
Globals block and the function's own block are merged, with intrinsics in long form.
"""

from __future__ import annotations

import ast
import copy
import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from local.template import TEMPLATE_PATH, load_template

REPO_ROOT = TEMPLATE_PATH.parent

# The route contract: other code and the README depend on these paths.
INFERENCE_ROUTES = [
    ("/v1/chat/completions", "POST"),
    ("/v1/completions", "POST"),
    ("/v1/embeddings", "POST"),
    ("/v1/rerank", "POST"),
    ("/v1/invocations", "POST"),
    ("/v1/classification", "POST"),
    ("/v1/audio/transcriptions", "POST"),
    ("/v1/messages", "POST"),
    ("/v1/messages/count_tokens", "POST"),
    ("/v1/responses", "POST"),
    ("/v1/responses/{proxy+}", "ANY"),
]
CONTROL_ROUTES = [
    ("/health", "GET"),
    ("/v1/models", "GET"),
    ("/v1/models/{model_id+}", "GET"),
    ("/v1/projects", "ANY"),
    ("/v1/projects/{proxy+}", "ANY"),
    ("/v1/engines", "ANY"),
    ("/v1/engines/{proxy+}", "ANY"),
    ("/v1/testing-functions", "GET"),
    ("/v1/keys", "ANY"),
    ("/v1/keys/{proxy+}", "ANY"),
    ("/v1/usage", "GET"),
    ("/v1/admin/{proxy+}", "ANY"),
]

# Values the transform needs in place of local paths; `sam validate` does the same.
_PLACEHOLDER_S3 = "s3://relay-artifacts/"


@lru_cache(maxsize=1)
def _template() -> dict[str, Any]:
    return load_template()


def raw_template() -> dict[str, Any]:
    """template.yaml as plain data (a fresh copy each call, so callers may mutate it)."""
    return copy.deepcopy(_template())


def declared_environment(function_logical_id: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """Environment variables of one function: Globals first, the function's own block on top."""
    template = template if template is not None else _template()
    resource = template["Resources"].get(function_logical_id)
    if resource is None or resource.get("Type") != "AWS::Serverless::Function":
        raise KeyError(f"{function_logical_id} is not an AWS::Serverless::Function in template.yaml")
    merged: dict[str, Any] = {}
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    merged.update(globals_env.get("Variables", {}))
    merged.update(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    return copy.deepcopy(merged)


def serverless_functions(template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Logical id → AWS::Serverless::Function resource."""
    template = template if template is not None else _template()
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def code_dirs(function_logical_id: str, template: dict[str, Any] | None = None) -> list[Path]:
    """Local source directories that end up in one function: its CodeUri and its local layers."""
    template = template if template is not None else _template()
    properties = template["Resources"][function_logical_id]["Properties"]
    dirs = [REPO_ROOT / properties["CodeUri"]]
    for layer in properties.get("Layers", []):
        if isinstance(layer, dict) and "Ref" in layer:
            layer_resource = template["Resources"].get(layer["Ref"], {})
            if layer_resource.get("Type") == "AWS::Serverless::LayerVersion":
                dirs.append(REPO_ROOT / layer_resource["Properties"]["ContentUri"])
    return dirs


@lru_cache(maxsize=1)
def _transformed() -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    class _NoManagedPolicies:
        """The template names no managed policies by name, so the loader never needs IAM."""

        def load(self) -> dict[str, str]:
            return {}

    template = raw_template()
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = _PLACEHOLDER_S3 + properties[key]
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"  # the translator resolves AWS::Region from boto3
    try:
        return transform(template, {}, _NoManagedPolicies())
    finally:
        if previous is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def transformed_template() -> dict[str, Any]:
    """The CloudFormation template SAM produces from template.yaml (aws-sam-translator in-process)."""
    return copy.deepcopy(_transformed())


def api_integrations(transformed: dict[str, Any], api_logical_id: str = "Api") -> dict[tuple[str, str], Any]:
    """(path, METHOD) → x-amazon-apigateway-integration of the REST API's OpenAPI body."""
    body = transformed["Resources"][api_logical_id]["Properties"]["Body"]
    integrations: dict[tuple[str, str], Any] = {}
    for path, item in body["paths"].items():
        for method, operation in item.items():
            name = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            integrations[(path, name)] = operation["x-amazon-apigateway-integration"]
    return integrations


def policy_statements(role: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every statement of a role's inline policies; both branches of a conditional statement."""
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            yield from _branches(statement)


def _branches(statement: Any) -> Iterator[dict[str, Any]]:
    if isinstance(statement, dict) and "Fn::If" in statement:
        _condition, when_true, when_false = statement["Fn::If"]
        yield from _branches(when_true)
        yield from _branches(when_false)
    elif isinstance(statement, dict) and statement != {"Ref": "AWS::NoValue"}:
        yield statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- environment reads in code

# Set by the Lambda runtime or the shell, never by the template.
RUNTIME_PROVIDED = frozenset(
    {
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "TZ",
        "HOME",
        "PATH",
        "PYTHONPATH",
        "LD_LIBRARY_PATH",
    }
)
# Only the local stack sets these (botocore reads them); production leaves them unset.
LOCAL_ONLY_PREFIXES = ("AWS_ENDPOINT_URL",)

_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_RELAY_NAME = re.compile(r"^RELAY_[A-Z0-9_]+$")
_SHELL_VAR = re.compile(r"\$\{?([A-Z_][A-Z0-9_]*)")
_ENV_CALLS = {("os", "getenv"), ("environ", "get"), ("environ", "setdefault"), ("environ", "pop")}


def env_names_in_python(source: str) -> set[str]:
    """Environment variable names a module reads.

    Any string literal spelled `RELAY_*` counts (the settings module keeps them as constants and
    passes them to helpers) unless it is a key the code writes, as does the value of any `ENV_*` constant (names outside the RELAY_
    prefix, such as the deployment settings), plus literal names given to os.environ / os.getenv.
    """
    tree = ast.parse(source)
    # Keys of an environment the code builds for something else (a SageMaker container's
    # Environment), whether a dict literal's keys or `env["NAME"] = ...`, are written, not read.
    written = {id(key) for node in ast.walk(tree) if isinstance(node, ast.Dict) for key in node.keys if key}
    written |= {
        id(node.slice)
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _RELAY_NAME.match(node.value)
            and id(node) not in written
        ):
            names.add(node.value)
        elif (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id.startswith("ENV_") for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            names.add(node.value.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            owner = node.func.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            first = node.args[0]
            if (owner_name, node.func.attr) in _ENV_CALLS and isinstance(first, ast.Constant):
                names.add(str(first.value))
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            target = node.value
            target_name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if target_name == "environ":
                names.add(str(node.slice.value))
    return {name for name in names if _ENV_NAME.match(name)}


def env_names_in_shell(source: str) -> set[str]:
    """Variables a shell script expands (comments ignored)."""
    code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    return set(_SHELL_VAR.findall(code))


def env_names_read(directories: list[Path]) -> dict[str, set[Path]]:
    """Name → files that read it, over the Python modules and shell scripts under `directories`."""
    found: dict[str, set[Path]] = {}
    for directory in directories:
        for path in sorted(directory.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py":
                names = env_names_in_python(path.read_text(encoding="utf-8"))
            elif path.suffix == ".sh":
                names = env_names_in_shell(path.read_text(encoding="utf-8"))
            else:
                continue
            for name in names:
                if name in RUNTIME_PROVIDED or name.startswith(LOCAL_ONLY_PREFIXES):
                    continue
                found.setdefault(name, set()).add(path)
    return found
