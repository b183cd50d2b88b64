"""The product's loop on the local stack, through the openai SDK and httpx: upload a chat dataset,
train tiny-local, deploy its checkpoint, call it (chat, streamed chat, text completions) and check
the answer against the checkpoint's own weights, deploy again through an engine, deactivate the
engine, see 503 + Retry-After turn into a reactivation, then undeploy and delete down to 404 and
no SageMaker resource left. Prints deploy-to-Deployed and reactivation times."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import openai
import pytest

from relay.services.layout import training_prefix

# Trains or serves tiny-local: one such test at a time, all on one pytest-xdist worker (Makefile).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("tiny-models")]

REPO = Path(__file__).resolve().parents[2]
TRAIN_PYTHON = REPO / ".venv-train" / "bin" / "python"
CHATS = [
    {
        "messages": [
            {"role": "user", "content": f"capital of {country}?"},
            {"role": "assistant", "content": f"the capital of {country} is {city}."},
        ]
    }
    for country, city in [("france", "paris"), ("italy", "rome"), ("spain", "madrid"), ("japan", "tokyo")]
] * 3
PROMPT = "The capital of france is"
QUESTION = [{"role": "user", "content": "capital of france?"}]
# A chat conversation goes through the chat template; /v1/completions sends its prompt as it is.
CONVERSATIONS: list[Any] = [QUESTION, PROMPT]
TOKENS = 8
ENDED = ("Failed", "TimedOut", "Cancelled", "Terminated")

# Greedy answers of the checkpoint to each conversation (argv: JSON list of message lists),
# computed with transformers' own generate, not the serving stand-in's loop: what a deployment
# of these weights must answer.
REFERENCE = """
import json, sys
from pathlib import Path
from transformers import AutoModelForCausalLM, AutoTokenizer
checkpoint, base, conversations, tokens = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
tokenizer = AutoTokenizer.from_pretrained(checkpoint)
if (checkpoint / "adapter_config.json").is_file():
    from peft import PeftModel
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), checkpoint).merge_and_unload()
else:
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
answers = []
for messages in conversations:
    if isinstance(messages, str):
        text = messages
    else:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    out = model.eval().generate(ids, max_new_tokens=tokens, do_sample=False)
    answers.append(tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True))
print(json.dumps(answers))
"""


@pytest.fixture()
def http(live_server: str, admin_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, headers={"X-API-Key": admin_key}, timeout=30) as client:
        yield client


def _wait(
    http: httpx.Client, url: str, wanted: tuple[str, ...], timeout: float
) -> tuple[dict[str, Any], list[str]]:
    """Poll a resource until its status is one of `wanted`; returns it and every status seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        body = http.get(url).json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in wanted:
            return body, seen
        assert body["status"] not in ENDED or body["status"] in wanted, body
        assert time.monotonic() < deadline, (body, seen)
        time.sleep(0.2)


def _download(prefix: str, into: Path) -> Path:
    s3 = boto3.client("s3")
    bucket = os.environ["RELAY_BUCKET_NAME"]
    keys = [
        o["Key"]
        for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in p.get("Contents", [])
    ]
    assert keys, f"nothing under s3://{bucket}/{prefix}"
    for key in keys:
        target = into / key.removeprefix(prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
    return into


def _reference(project: str, job: str, checkpoint: int, tmp: Path) -> list[str]:
    """The checkpoint's greedy answers to QUESTION (chat) and to PROMPT (a raw completion)."""
    weights = _download(
        f"{training_prefix(project, job)}checkpoints/checkpoint-{checkpoint}/", tmp / "checkpoint"
    )
    base = _download("base-models/tiny-local/", tmp / "base")
    result = subprocess.run(
        [str(TRAIN_PYTHON), "-c", REFERENCE, str(weights), str(base), json.dumps(CONVERSATIONS), str(TOKENS)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [str(answer) for answer in json.loads(result.stdout.strip().splitlines()[-1])]


def _answers(client: openai.OpenAI, model: str) -> str:
    reply = client.chat.completions.create(model=model, messages=QUESTION, max_tokens=TOKENS, temperature=0)  # type: ignore[arg-type]
    assert reply.model and reply.choices[0].message.role == "assistant"
    return str(reply.choices[0].message.content)


def _components(prefix: str) -> list[str]:
    sagemaker = boto3.client("sagemaker")
    listed = sagemaker.list_inference_components(MaxResults=100)["InferenceComponents"]
    return [c["InferenceComponentName"] for c in listed if c["InferenceComponentName"].startswith(prefix)]


def test_train_deploy_call_deactivate_reactivate_and_delete(
    http: httpx.Client, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    if not TRAIN_PYTHON.exists():
        pytest.fail(f"{TRAIN_PYTHON} is missing: `make .venv-train/.installed` (make local does it)")
    project = http.post("/projects", json={"name": "e2e-deployments"}).json()["id"]
    body = "".join(json.dumps(row) + "\n" for row in CHATS).encode()
    dataset = http.post(
        f"/projects/{project}/datasets", files={"file": ("chats.jsonl", body)}, data={"name": "capitals"}
    )
    assert dataset.status_code == 201, dataset.text
    created = http.post(
        f"/projects/{project}/training-jobs",
        json={
            "base_model": "tiny-local",
            "train_dataset_id": dataset.json()["id"],
            # Enough for the answers to start with a word (a random model's first token is often
            # end-of-text); tiny-local trains this in seconds.
            "parameters": {"num_train_epochs": 8, "learning_rate": 0.005, "max_seq_length": 64},
        },
    )
    assert created.status_code == 201, created.text
    job = created.json()["id"]
    trained, _ = _wait(http, f"/projects/{project}/training-jobs/{job}", ("Success",), timeout=300)
    checkpoint = http.get(f"/projects/{project}/training-jobs/{job}/checkpoints").json()[-1]["checkpoint"]

    # --- deploy the checkpoint; the control plane picks (here: creates) an engine
    started = time.monotonic()
    response = http.post(
        f"/projects/{project}/deployments",
        json={
            "training_job_id": job,
            "checkpoint": checkpoint,
            "name": "e2e-capitals",
            "inactive_timeout": 3600,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "Pending"
    deployment = response.json()["id"]
    detail, seen = _wait(http, f"/projects/{project}/deployments/{deployment}", ("Deployed",), timeout=180)
    deploy_seconds = time.monotonic() - started
    assert seen[-1] == "Deployed" and set(seen) <= {"Pending", "Deploying", "Deployed"}, seen
    assert (detail["base_model"], detail["training_id"], detail["checkpoint"]) == (
        "tiny-local",
        job,
        checkpoint,
    )
    engine = detail["engine_id"]

    listed = {m.id: m for m in openai_client.models.list()}
    (model_id,) = [i for i in listed if i.split("/")[0] == "e2e-capitals"]
    assert listed[model_id].model_extra and listed[model_id].model_extra["type"] == "chat"

    answer = _answers(openai_client, "e2e-capitals")
    expected_chat, expected_completion = _reference(project, job, checkpoint, tmp_path)
    # Greedy, so exactly what these weights answer; trained enough that it is not end-of-text at once.
    assert answer and answer == expected_chat, (answer, expected_chat)
    chunks = list(
        openai_client.chat.completions.create(
            model="e2e-capitals",
            messages=QUESTION,
            max_tokens=TOKENS,
            temperature=0,
            stream=True,  # type: ignore[arg-type]
        )
    )
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 2, chunks
    assert "".join(pieces) == answer  # the same answer, token by token
    completion = openai_client.completions.create(
        model="e2e-capitals", prompt=PROMPT, max_tokens=TOKENS, temperature=0
    )
    assert completion.choices[0].text == expected_completion, (
        completion.choices[0].text,
        expected_completion,
    )

    # --- the same checkpoint again, on the named engine
    on_engine = http.post(
        f"/engines/{engine}/deploy",
        json={
            "project_id": project,
            "training_id": job,
            "checkpoint": checkpoint,
            "name": "e2e-capitals-engine",
        },
    )
    assert on_engine.status_code == 201, on_engine.text
    second = on_engine.json()["id"]
    _wait(http, f"/projects/{project}/deployments/{second}", ("Deployed",), timeout=180)
    assert _answers(openai_client, "e2e-capitals-engine") == answer
    engine_detail = http.get(f"/engines/{engine}").json()
    assert engine_detail["status"] == "Active"
    assert {d["id"] for d in engine_detail["deployments"]} == {deployment, second}

    # --- deactivate the engine: a request gets 503 + Retry-After and brings its deployment back
    assert http.post(f"/engines/{engine}/deactivate").status_code == 204
    assert http.get(f"/engines/{engine}").json()["status"] == "Inactive"
    with pytest.raises(openai.InternalServerError) as unavailable:
        _answers(openai_client, "e2e-capitals")
    reactivation_started = time.monotonic()
    assert unavailable.value.status_code == 503
    assert int(unavailable.value.response.headers["retry-after"]) >= 1
    assert unavailable.value.code == "service_unavailable" and "reactivated" in unavailable.value.message
    _, seen = _wait(http, f"/projects/{project}/deployments/{deployment}", ("Deployed",), timeout=180)
    reactivation_seconds = time.monotonic() - reactivation_started
    assert "Reactivating" in seen, seen
    assert _answers(openai_client, "e2e-capitals") == answer

    # --- undeploy and delete: the names are 404 at once, and SageMaker holds nothing of them
    assert (
        http.post(f"/engines/{engine}/undeploy", json={"deployment_name": "e2e-capitals-engine"}).status_code
        == 204
    )
    with pytest.raises(openai.NotFoundError):
        _answers(openai_client, "e2e-capitals-engine")
    assert http.delete(f"/projects/{project}/deployments/{deployment}").status_code == 204
    with pytest.raises(openai.NotFoundError):
        _answers(openai_client, "e2e-capitals")
    for dp in (deployment, second):
        _wait(http, f"/projects/{project}/deployments/{dp}", ("Terminated",), timeout=60)
    prefix = os.environ["RESOURCE_PREFIX"]
    deadline = time.monotonic() + 60
    while any(dp in name for name in _components(prefix) for dp in (deployment, second)):
        assert time.monotonic() < deadline, _components(prefix)
        time.sleep(0.5)
    assert http.delete(f"/engines/{engine}").status_code == 204

    print(
        f"\ndeploy to Deployed: {deploy_seconds:.1f} s; reactivation (503 to Deployed): "
        f"{reactivation_seconds:.1f} s; training: {trained['status']}"
    )
