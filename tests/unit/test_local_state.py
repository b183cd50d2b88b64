"""The local stack's state file and the training environment built on first use (local/state.py, local/training_env.py)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from local import base_models, state, training_env

pytestmark = pytest.mark.unit

NAMES = {
    "Table": "relay-local-table",
    "Bucket": "relay-local-bucket-bucket",
    "AdminKeySecret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:relay-local-adminkeysecret-AbCdEf",
}


def test_state_names_each_emulated_service_as_boto3_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:6000")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:6000")
    monkeypatch.delenv("AWS_ENDPOINT_URL_LAMBDA", raising=False)
    built = state.build_state(
        "http://127.0.0.1:9/v1", "key", ("BEDROCK_RUNTIME", "LAMBDA"), NAMES, "us-east-1"
    )
    assert built["endpoints"] == {
        "bedrock-runtime": "http://127.0.0.1:6000",
        "sagemaker": "http://127.0.0.1:6000",
    }
    assert (built["base_url"], built["admin_key"], built["aws_endpoint_url"]) == (
        "http://127.0.0.1:9/v1",
        "key",
        "http://127.0.0.1:5000",
    )
    assert built["pid"] == os.getpid()


def test_outputs_are_the_templates_with_local_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    outputs = state.local_outputs(NAMES, "us-east-1", "http://127.0.0.1:9/v1")
    assert (
        outputs["TableName"] == "relay-local-table" and outputs["BucketName"] == "relay-local-bucket-bucket"
    )
    assert (
        outputs["AdminKeySecretArn"] == NAMES["AdminKeySecret"]
        and outputs["BaseUrl"] == "http://127.0.0.1:9/v1"
    )
    assert "AdminKeySecretConsoleUrl" not in outputs  # no console for moto's secret
    assert outputs["AdminKeyCommand"].startswith("aws --endpoint-url http://127.0.0.1:5000 secretsmanager")
    assert NAMES["AdminKeySecret"] in outputs["AdminKeyCommand"]


def test_state_file_is_private_whole_and_removable(tmp_path: Path) -> None:
    path = tmp_path / ".relay-local.json"
    state.write_state(path, {"base_url": "http://x/v1", "admin_key": "secret"})
    assert json.loads(path.read_text(encoding="utf-8"))["admin_key"] == "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and list(tmp_path.iterdir()) == [path]
    state.remove_state(path)
    state.remove_state(path)  # already gone: no error
    assert not path.exists()


def test_state_file_path_follows_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RELAY_LOCAL_STATE_FILE", str(tmp_path / "s.json"))
    assert state.state_file_path() == tmp_path / "s.json"
    monkeypatch.delenv("RELAY_LOCAL_STATE_FILE")
    assert state.state_file_path() == state.DEFAULT_STATE_FILE


# ----------------------------------------------------------------- the training environment


@pytest.fixture()
def venv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """A checkout whose .venv-train is not built; `make` is recorded instead of run."""
    monkeypatch.delenv("RELAY_LOCAL_TRAINING_PYTHON", raising=False)
    marker = tmp_path / ".venv-train" / ".installed"
    monkeypatch.setattr(training_env, "REPO", tmp_path)
    monkeypatch.setattr(training_env, "INSTALLED", marker)
    monkeypatch.setattr(training_env, "PYTHON", tmp_path / ".venv-train" / "bin" / "python")
    calls: list[list[str]] = []
    outcome = {"code": 0}

    def fake_make(args: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        if outcome["code"] == 0:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        return subprocess.CompletedProcess(
            args, outcome["code"], "pip: resolving\n", "ERROR: no torch for this Python\n"
        )

    monkeypatch.setattr(training_env.subprocess, "run", fake_make)
    return {"calls": calls, "outcome": outcome, "root": tmp_path}


def test_first_use_builds_the_environment_once(
    venv: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert not training_env.ready()
    python = training_env.ensure()
    assert training_env.ensure() == python == str(venv["root"] / ".venv-train" / "bin" / "python")
    assert venv["calls"] == [["make", "-C", str(venv["root"]), ".venv-train/.installed"]]
    assert training_env.ready() and "Building the training environment" in capsys.readouterr().err


def test_a_failed_build_says_why(venv: dict[str, Any]) -> None:
    venv["outcome"]["code"] = 2
    with pytest.raises(training_env.TrainingEnvironmentError, match="no torch for this Python"):
        training_env.ensure()
    assert not training_env.ready()


def test_a_configured_interpreter_skips_the_build(
    venv: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAY_LOCAL_TRAINING_PYTHON", "/opt/py/bin/python")
    assert training_env.ready() and training_env.ensure() == "/opt/py/bin/python" and venv["calls"] == []


def test_base_models_wait_for_the_environment_before_seeding(
    venv: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded: list[tuple[Any, str]] = []
    monkeypatch.setattr(
        base_models, "_seed", lambda s3, bucket: (seeded.append((s3, bucket)), base_models._ready.set())
    )
    base_models.seed_in_background("s3-client", "bucket")
    assert seeded == []  # nothing built at start: the API is up without .venv-train
    assert base_models.wait_ready(timeout=1) is None
    assert seeded == [("s3-client", "bucket")]
    base_models.wait_ready(timeout=1)
    assert len(seeded) == 1  # seeded once
