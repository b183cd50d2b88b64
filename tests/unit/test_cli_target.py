"""Which Relay the CLI talks to: flags, then --stack-name, then OPENAI_*, then make local's state file, then RELAY_STACK_NAME."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from relay_cli.target import TargetError, normalize_base_url, resolve

pytestmark = pytest.mark.unit

SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod-admin-api-key-AbCdEf"


class FakeAws:
    """A boto3 session stand-in: CloudFormation and Secrets Manager answers for one stack."""

    def __init__(self, outputs: dict[str, str], fail: str | None = None) -> None:
        self.outputs, self.fail, self.calls = outputs, fail, []

    def client(self, name: str) -> FakeAws:
        self.service = name
        return self

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        self.calls.append(("describe_stacks", StackName))
        if self.fail == "describe":
            raise ClientError(
                {"Error": {"Code": "ValidationError", "Message": "Stack does not exist"}}, "DescribeStacks"
            )
        return {
            "Stacks": [
                {
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()],
                    "Parameters": [{"ParameterKey": "TrainingSpot", "ParameterValue": "true"}],
                }
            ]
        }

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.calls.append(("get_secret_value", SecretId))
        return {"SecretString": "admin-from-secrets-manager"}


def stack_outputs() -> dict[str, str]:
    return {
        "BaseUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/Prod/v1",
        "AdminKeySecretArn": SECRET,
        "AdminKeySecretConsoleUrl": "https://eu-west-1.console.aws.amazon.com/secretsmanager/secret?name=prod",
    }


def write_state(path: Path, **extra: Any) -> Path:
    state = {
        "base_url": "http://127.0.0.1:9999/v1",
        "admin_key": "local-admin",
        "outputs": {"TableName": "t"},
    }
    path.write_text(json.dumps({**state, **extra}), encoding="utf-8")
    return path


def test_flags_win_over_environment_and_state(tmp_path: Path) -> None:
    write_state(tmp_path / ".relay-local.json")
    env = {"OPENAI_BASE_URL": "http://env:1/v1", "OPENAI_API_KEY": "env-key"}
    target = resolve(base_url="http://flag:2/v1", api_key="flag-key", env=env, cwd=tmp_path)
    assert (target.base_url, target.api_key, target.source) == ("http://flag:2/v1", "flag-key", "--base-url")


def test_base_url_flag_takes_the_key_from_the_environment() -> None:
    target = resolve(base_url="http://flag:2/v1", env={"OPENAI_API_KEY": "env-key"}, cwd=Path("/"))
    assert (target.api_key, target.key_location) == ("env-key", "OPENAI_API_KEY")


def test_environment_beats_the_state_file(tmp_path: Path) -> None:
    write_state(tmp_path / ".relay-local.json")
    env = {"OPENAI_BASE_URL": "http://env:1/v1/", "OPENAI_API_KEY": "env-key"}
    target = resolve(env=env, cwd=tmp_path)
    assert (target.base_url, target.api_key, target.source) == (
        "http://env:1/v1",
        "env-key",
        "OPENAI_BASE_URL",
    )


def test_state_file_is_found_in_a_parent_folder(tmp_path: Path) -> None:
    state = write_state(tmp_path / ".relay-local.json", pid=os.getpid())
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    target = resolve(env={}, cwd=nested)
    assert (target.base_url, target.api_key) == ("http://127.0.0.1:9999/v1", "local-admin")
    assert target.source == f"local stack ({state})" and target.outputs == {"TableName": "t"}


def test_state_file_variable_overrides_the_search(tmp_path: Path) -> None:
    write_state(tmp_path / ".relay-local.json")
    other = write_state(tmp_path / "elsewhere.json", base_url="http://127.0.0.1:7777/v1")
    target = resolve(env={"RELAY_LOCAL_STATE_FILE": str(other)}, cwd=tmp_path)
    assert target.base_url == "http://127.0.0.1:7777/v1"


def test_state_file_of_a_dead_process_is_ignored(tmp_path: Path) -> None:
    write_state(tmp_path / ".relay-local.json", pid=2**22 + 12345)  # above Linux's pid_max default
    with pytest.raises(TargetError, match="No Relay to talk to"):
        resolve(env={}, cwd=tmp_path)


def test_malformed_state_file_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".relay-local.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(TargetError, match=r"\.relay-local\.json"):
        resolve(env={}, cwd=tmp_path)


def test_stack_name_flag_reads_outputs_and_the_admin_secret(tmp_path: Path) -> None:
    aws = FakeAws(stack_outputs())
    env = {"OPENAI_BASE_URL": "http://env:1/v1"}  # left exported by make local: the explicit flag wins
    target = resolve(stack_name="prod", env=env, cwd=tmp_path, session=aws)
    assert target.base_url == "https://abc.execute-api.eu-west-1.amazonaws.com/Prod/v1"
    assert target.api_key == "admin-from-secrets-manager"
    assert target.key_location == f"Secrets Manager secret {SECRET}"
    assert target.console_url and target.console_url.startswith("https://eu-west-1.console.aws.amazon.com/")
    assert target.parameters == {"TrainingSpot": "true"}
    assert ("get_secret_value", SECRET) in aws.calls


def test_stack_name_with_api_key_skips_secrets_manager(tmp_path: Path) -> None:
    aws = FakeAws(stack_outputs())
    target = resolve(stack_name="prod", api_key="mine", env={}, cwd=tmp_path, session=aws)
    assert target.api_key == "mine" and [c[0] for c in aws.calls] == ["describe_stacks"]


def test_relay_stack_name_variable_is_the_last_resort(tmp_path: Path) -> None:
    aws = FakeAws(stack_outputs())
    target = resolve(env={"RELAY_STACK_NAME": "prod"}, cwd=tmp_path, session=aws)
    assert target.stack_name == "prod"


def test_stack_errors_are_cli_errors(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"Cannot read stack gone: .*Stack does not exist"):
        resolve(stack_name="gone", env={}, cwd=tmp_path, session=FakeAws({}, fail="describe"))
    with pytest.raises(TargetError, match="no BaseUrl output"):
        resolve(stack_name="other", api_key="k", env={}, cwd=tmp_path, session=FakeAws({"TableName": "t"}))


def test_nothing_configured_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(TargetError) as info:
        resolve(env={}, cwd=tmp_path)
    assert "OPENAI_BASE_URL" in info.value.message and "make local" in info.value.message


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1"),
        ("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1"),
        (
            "https://x.execute-api.us-east-1.amazonaws.com/Prod/v1",
            "https://x.execute-api.us-east-1.amazonaws.com/Prod/v1",
        ),
    ],
)
def test_base_url_normalisation(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


def test_base_url_without_scheme_is_refused() -> None:
    with pytest.raises(TargetError, match="needs a scheme"):
        normalize_base_url("127.0.0.1:8000")
