"""Every environment variable the code reads is declared for the function that runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .stack import (
    code_dirs,
    declared_environment,
    env_names_in_python,
    env_names_in_shell,
    env_names_read,
    serverless_functions,
)

pytestmark = pytest.mark.infra

HTTP_FUNCTIONS = ["DataPlaneFunction", "ControlPlaneFunction"]

# What other code (and the local stack, which resolves these Refs to its own names) relies on.
CONTRACT = {
    "RELAY_TABLE_NAME": {"Ref": "Table"},
    "RELAY_BUCKET_NAME": {"Ref": "Bucket"},
    "RELAY_ADMIN_SECRET_ID": {"Ref": "AdminKeySecret"},
    "RELAY_MODELS_REQUIRE_KEY": {"Ref": "ModelsRequireKey"},
    "RELAY_ALLOWED_MODELS": {"Fn::Join": [",", {"Ref": "AllowedBedrockModels"}]},
    "RELAY_GUARDRAIL_ID": {"Ref": "GuardrailIdentifier"},
    "RELAY_GUARDRAIL_VERSION": {"Ref": "GuardrailVersion"},
    "POWERTOOLS_SERVICE_NAME": "relay",
    "POWERTOOLS_METRICS_NAMESPACE": "Relay",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
}


@pytest.mark.parametrize("function_id", HTTP_FUNCTIONS)
def test_contract_variables_are_declared(function_id: str) -> None:
    env = declared_environment(function_id)
    assert {name: env.get(name) for name in CONTRACT} == CONTRACT


def test_web_adapter_variables_only_on_the_data_plane() -> None:
    data_plane = declared_environment("DataPlaneFunction")
    control_plane = declared_environment("ControlPlaneFunction")
    assert data_plane["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in control_plane
    assert not [name for name in control_plane if name.startswith("AWS_LWA_")]


# Read by code whose infrastructure template.yaml does not declare yet; meanwhile the code
# treats them as unset (training reports that no pipeline is deployed). Remove a name from
# here when template.yaml declares it - the test below insists.
DEFERRED: dict[str, str] = {}


@pytest.mark.parametrize("function_id", sorted(serverless_functions()))
def test_every_variable_the_code_reads_is_declared(function_id: str) -> None:
    declared = declared_environment(function_id)
    read = env_names_read(code_dirs(function_id))
    undeclared = {
        name: sorted(str(p) for p in paths)
        for name, paths in read.items()
        if name not in declared and name not in DEFERRED
    }
    assert not undeclared, (
        f"read by the code but not declared for {function_id}: {undeclared}. Declare each one in "
        "template.yaml (Globals.Function.Environment.Variables, with the code's default if it has one)."
    )


@pytest.mark.parametrize("function_id", sorted(serverless_functions()))
def test_deferred_variables_are_still_deferred(function_id: str) -> None:
    declared = declared_environment(function_id)
    assert not [name for name in DEFERRED if name in declared], "declared now: remove it from DEFERRED"


@pytest.mark.parametrize("function_id", sorted(serverless_functions()))
def test_every_relay_variable_declared_is_read(function_id: str) -> None:
    """A RELAY_* name nobody reads is a typo or a leftover; either way the setting does nothing."""
    read = env_names_read(code_dirs(function_id))
    unread = [
        name for name in declared_environment(function_id) if name.startswith("RELAY_") and name not in read
    ]
    assert not unread


@pytest.mark.parametrize("function_id", sorted(serverless_functions()))
def test_references_resolve_to_this_template(template: dict[str, Any], function_id: str) -> None:
    known = set(template["Parameters"]) | set(template["Resources"])
    for name, value in declared_environment(function_id).items():
        for ref in _refs(value):
            assert ref in known or ref.startswith("AWS::"), f"{name} refers to unknown {ref}"


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["Ref"]] if "Ref" in value else []
        return found + [ref for v in value.values() for ref in _refs(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _refs(v)]
    return []


def test_declared_environment_merges_globals_under_the_function() -> None:
    template = {
        "Globals": {"Function": {"Environment": {"Variables": {"A": "global", "B": "global"}}}},
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Environment": {"Variables": {"B": "own", "C": "own"}}},
            }
        },
    }
    assert declared_environment("Fn", template) == {"A": "global", "B": "own", "C": "own"}
    with pytest.raises(KeyError):
        declared_environment("Missing", template)


def test_scanner_finds_the_ways_code_reads_the_environment(tmp_path: Path) -> None:
    source = "\n".join(
        [
            "import os",
            "from os import environ",
            'ENV_TABLE = "RELAY_TABLE_NAME"',
            'a = os.environ["FROM_SUBSCRIPT"]',
            'b = os.environ.get("FROM_GET", "x")',
            'c = os.getenv("FROM_GETENV")',
            'd = environ.get("FROM_BARE_ENVIRON")',
            'e = "not an env var"',
            'ENV_PREFIX = "RESOURCE_PREFIX"',
            'NOT_ENV = "OTHER_CONSTANT"',
            'container = {"RELAY_FOR_A_CONTAINER": "x"}',
            'container["RELAY_ALSO_WRITTEN"] = "y"',
        ]
    )
    assert env_names_in_python(source) == {
        "RELAY_TABLE_NAME",
        "RESOURCE_PREFIX",
        "FROM_SUBSCRIPT",
        "FROM_GET",
        "FROM_GETENV",
        "FROM_BARE_ENVIRON",
    }
    assert env_names_in_shell('# $IGNORED\nexec python --port "${PORT:-8080}" $EXTRA\n') == {"PORT", "EXTRA"}

    (tmp_path / "mod.py").write_text('import os\nos.getenv("AWS_REGION")\nos.getenv("AWS_ENDPOINT_URL_S3")\n')
    assert env_names_read([tmp_path]) == {}
