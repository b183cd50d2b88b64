"""The `relay` console script, run as a user runs it, against the app served on loopback on the local stack:
status from the state file, keys, projects, direct and presigned uploads, a training job watched to
Success, its loss PNG, a deployment of its checkpoint, chat, a batch waited on and its results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

RELAY = Path(sys.executable).with_name("relay")
QA = [
    {"prompt": f"what is the capital of {country}", "completion": city}
    for country, city in [("france", "paris"), ("italy", "rome"), ("spain", "madrid"), ("germany", "berlin")]
] * 3


@pytest.fixture(scope="module")
def cli_env(live_server: str, admin_key: str) -> dict[str, str]:
    if not RELAY.exists():
        pytest.fail(f"{RELAY} is missing: the dev environment installs it (pip install -e .)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RELAY_STACK"))}
    return {**env, "OPENAI_BASE_URL": live_server, "OPENAI_API_KEY": admin_key, "COLUMNS": "200"}


def relay(
    env: dict[str, str], *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(RELAY), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    if check:
        assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


def as_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(relay(env, *args, "--json").stdout)


def test_status_from_the_local_state_file(
    cli_env: dict[str, str], live_server: str, admin_key: str, tmp_path: Path
) -> None:
    # No OPENAI_* variables: the CLI finds the running stack through its state file.
    state = {
        "base_url": live_server,
        "admin_key": admin_key,
        "outputs": {"TableName": "t"},
        "pid": os.getpid(),
    }
    (tmp_path / ".relay-local.json").write_text(json.dumps(state), encoding="utf-8")
    env = {k: v for k, v in cli_env.items() if not k.startswith("OPENAI_")}
    report = json.loads(relay(env, "status", "--json", cwd=tmp_path).stdout)
    assert report["base_url"] == live_server and report["source"].startswith("local stack")
    assert report["models"]["bedrock"] > 0 and report["models"]["fine_tuning_base_models"] > 0
    assert isinstance(report["registered_models"], list)
    human = relay(env, "status", cwd=tmp_path).stdout
    assert live_server in human and "Models by source" in human


def test_models_and_keys(cli_env: dict[str, str], live_server: str) -> None:
    embeddings = as_json(cli_env, "models", "--type", "embeddings")
    assert embeddings and {m["type"] for m in embeddings} == {"embeddings"}
    created = as_json(cli_env, "keys", "create", "--name", "cli-e2e")
    assert created["key"].startswith("sk-") and created["name"] == "cli-e2e"
    assert created["id"] in [k["id"] for k in as_json(cli_env, "keys", "list")]
    assert as_json(cli_env, "keys", "show", created["id"])["name"] == "cli-e2e"
    # The new key works, through --api-key, until it is revoked.
    assert as_json(cli_env, "--api-key", created["key"], "models")
    assert as_json(cli_env, "keys", "revoke", created["id"]) == {"id": created["id"], "revoked": True}
    refused = relay(cli_env, "--api-key", created["key"], "models", check=False)
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr


# Trains and serves tiny-local: one such test at a time, all on one pytest-xdist worker (Makefile).
@pytest.mark.xdist_group("tiny-models")
def test_projects_datasets_training_plot(cli_env: dict[str, str], tmp_path: Path) -> None:
    from PIL import Image

    project = as_json(cli_env, "projects", "create", "--name", "cli-e2e")
    assert project["id"].startswith("ms-") and project["id"] in [
        p["id"] for p in as_json(cli_env, "projects", "list")
    ]
    file = tmp_path / "capitals.jsonl"
    file.write_text("".join(json.dumps(row) + "\n" for row in QA), encoding="utf-8")

    direct = relay(cli_env, "datasets", "upload", project["id"], str(file), "--name", "capitals", "--json")
    small = json.loads(direct.stdout)
    assert (small["status"], small["num_rows"], small["format"]) == ("uploaded", 12, "prompt_completion")
    assert f"{file.stat().st_size}/{file.stat().st_size} bytes" in direct.stderr  # the byte progress bar
    presigned = as_json(cli_env, "datasets", "upload", project["id"], str(file), "--via", "presigned")
    assert presigned["status"] == "uploaded" and presigned["sha256"] == small["sha256"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "completion": "b"}\nnot json\n{"x": 1}\n', encoding="utf-8")
    refused = relay(cli_env, "datasets", "upload", project["id"], str(bad), check=False)
    assert refused.returncode == 1
    assert "\n  line 2: not valid JSON" in refused.stderr and "\n  line 3: " in refused.stderr

    detail = as_json(cli_env, "projects", "show", project["id"])
    assert {d["id"] for d in detail["datasets"]} >= {small["id"], presigned["id"]}

    args = ["train", project["id"], "--base-model", "tiny-local", "--dataset", small["id"], "--split", "25"]
    args += [
        "--test-function",
        "exact_match",
        "--param",
        "num_train_epochs=2",
        "--name",
        "cli-sft",
        "--watch",
    ]
    watched = relay(cli_env, *args, "--json")
    result = json.loads(watched.stdout)
    job = result["job"]
    assert job["status"] == "Success" and len(result["checkpoints"]) == 2
    progress = [line for line in watched.stderr.splitlines() if line.startswith(f"{job['id']}: ")]
    assert progress[-1].startswith(f"{job['id']}: Success 100% step ") and len(progress) >= 2
    assert "Running" in " ".join(progress) or "Testing" in " ".join(progress)

    human = relay(cli_env, "jobs", "watch", job["id"]).stdout  # already done: the summary and checkpoints
    assert "Success" in human and "exact_match" in human

    png = tmp_path / "loss.png"
    plotted = as_json(cli_env, "jobs", "plot", job["id"], "-o", str(png))
    assert plotted["points"] == len(job["training_loss"]) >= 2
    assert png.stat().st_size > 5000
    with Image.open(png) as image:
        image.verify()
        assert image.format == "PNG"

    # The checkpoint served for real on CPU behind the sagemaker-runtime stand-in, called by its name.
    deployed = as_json(cli_env, "deploy", project["id"], job["id"], "--name", "cli-e2e-bot", "--wait")
    assert (
        deployed["status"] == "Deployed" and deployed["checkpoint"] == result["checkpoints"][-1]["checkpoint"]
    )
    rows = [d for d in as_json(cli_env, "status")["deployments"] if d["id"] == deployed["id"]]
    assert rows and rows[0]["status"] == "Deployed" and rows[0]["instance_type"]
    reply = as_json(cli_env, "chat", "cli-e2e-bot", "-m", "capital of france", "--max-tokens", "4")
    assert reply["content"] and reply["usage"]["completion_tokens"] >= 1
    assert [d["id"] for d in as_json(cli_env, "deployments", "list", project["id"])] == [deployed["id"]]
    assert as_json(cli_env, "deployments", "delete", project["id"], deployed["id"])["deleted"] is True


def test_project_delete(cli_env: dict[str, str]) -> None:
    project = as_json(cli_env, "projects", "create", "--name", "cli-e2e-empty")
    assert as_json(cli_env, "projects", "delete", project["id"]) == {"id": project["id"], "deleted": True}
    gone = relay(cli_env, "projects", "show", project["id"], check=False)
    assert gone.returncode == 1 and "HTTP 404, object_not_found" in gone.stderr


def test_chat_one_message(cli_env: dict[str, str]) -> None:
    chat = relay(cli_env, "chat", "amazon.nova-lite-v1:0", "-m", "hi")
    assert chat.stdout.strip()
    reply = as_json(cli_env, "chat", "amazon.nova-lite-v1:0", "-m", "hi")
    assert reply["model"] == "amazon.nova-lite-v1:0" and reply["content"] == chat.stdout.strip()
    assert reply["usage"]["total_tokens"] > 0
    missing = relay(cli_env, "chat", "no-such-model", "-m", "hi", check=False)
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr


def batch_line(custom_id: str, model: str = "amazon.nova-lite-v1:0") -> str:
    body = {"model": model, "messages": [{"role": "user", "content": f"question {custom_id}"}]}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body})


def test_batch_submit_wait_and_results(cli_env: dict[str, str], tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    lines = [batch_line(f"q-{n}") for n in range(3)] + [batch_line("q-bad", model="no-such-model")]
    requests.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["batch", "submit", str(requests), "--endpoint", "/v1/chat/completions"]
    submitted = relay(cli_env, *args, "--metadata", "run=cli-e2e", "--wait", "--json")
    batch = json.loads(submitted.stdout)
    assert batch["status"] == "completed" and batch["metadata"] == {"run": "cli-e2e"}
    assert batch["request_counts"] == {"completed": 3, "failed": 1, "total": 4}
    progress = [line for line in submitted.stderr.splitlines() if line.startswith(f"{batch['id']}: ")]
    assert progress[-1] == f"{batch['id']}: completed 4/4 requests (1 failed)"

    output = as_json(cli_env, "batch", "results", batch["id"])
    assert sorted(r["custom_id"] for r in output) == ["q-0", "q-1", "q-2"]
    assert all(r["response"]["body"]["choices"][0]["message"]["content"] for r in output)
    errors_file = tmp_path / "errors.jsonl"
    written = as_json(cli_env, "batch", "results", batch["id"], "--errors", "-o", str(errors_file))
    assert written["file_id"] == batch["error_file_id"] and written["lines"] == 1
    (error,) = [json.loads(x) for x in errors_file.read_text(encoding="utf-8").splitlines()]
    assert error["custom_id"] == "q-bad" and error["response"]["status_code"] == 404

    human = relay(cli_env, "batch", "show", batch["id"]).stdout
    assert batch["output_file_id"] in human and "completed" in human
    assert batch["id"] in [b["id"] for b in as_json(cli_env, "batch", "list")]


def test_batch_refusals(cli_env: dict[str, str], tmp_path: Path) -> None:
    malformed = tmp_path / "malformed.jsonl"
    malformed.write_text(batch_line("a") + "\n{not json\n", encoding="utf-8")
    args = ["batch", "submit", str(malformed), "--endpoint", "/v1/chat/completions", "--wait"]
    failed = relay(cli_env, *args, check=False)
    assert (
        failed.returncode == 1
        and " failed: " in failed.stdout
        and "line 2: invalid_json_line" in failed.stdout
    )
    wrong = relay(cli_env, *args[:3], "--endpoint", "/v1/images/generations", check=False)
    assert wrong.returncode == 1 and "(HTTP 400)" in wrong.stderr
    missing = relay(cli_env, "batch", "show", "batch_000000000000000000000000", check=False)
    assert missing.returncode == 1 and "(HTTP 404)" in missing.stderr
