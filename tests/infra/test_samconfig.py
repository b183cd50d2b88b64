"""samconfig.toml deploys what template.yaml accepts, with the safety settings it promises."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from .stack import REPO_ROOT

pytestmark = pytest.mark.infra

ENVIRONMENTS = ["default", "prod"]
_OVERRIDE = re.compile(r'(\w+)="([^"]*)"')


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    with (REPO_ROOT / "samconfig.toml").open("rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploy_settings(samconfig: dict[str, Any], env: str) -> None:
    deploy = samconfig[env]["deploy"]["parameters"]
    assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    assert deploy["resolve_s3"] is True
    assert samconfig[env]["global"]["parameters"]["stack_name"]
    build = samconfig[env]["build"]["parameters"]
    assert build["cached"] is True and build["parallel"] is True


def test_production_asks_before_changing(samconfig: dict[str, Any]) -> None:
    assert samconfig["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    stacks = {samconfig[env]["global"]["parameters"]["stack_name"] for env in ENVIRONMENTS}
    assert len(stacks) == len(ENVIRONMENTS), "each environment needs its own stack"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_parameter_overrides_are_valid_template_parameters(
    samconfig: dict[str, Any], template: dict[str, Any], env: str
) -> None:
    raw = samconfig[env]["deploy"]["parameters"]["parameter_overrides"]
    overrides = dict(_OVERRIDE.findall(raw))
    assert overrides, raw
    for name, value in overrides.items():
        spec = template["Parameters"].get(name)
        assert spec is not None, f"{name} is not a parameter of template.yaml"
        if "AllowedValues" in spec:
            assert value in spec["AllowedValues"], (name, value)
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), (name, value)
