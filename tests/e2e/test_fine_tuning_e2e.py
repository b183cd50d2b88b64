"""OpenAI's fine-tuning API judged by the openai SDK on the local stack: upload a fine-tune file,
fine-tune tiny-local (on CPU, training/train.py in .venv-train), watch it succeed with falling loss,
read its checkpoints and result file, deploy the fine-tuned model through the deployments API and
call it by its `ft:` id; a bad file fails with line errors, a cancel cancels the training job too,
and listing pages with `after`."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

# Trains or serves tiny-local: one such test at a time, all on one pytest-xdist worker (Makefile).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("tiny-models")]

REPO = Path(__file__).resolve().parents[2]
TRAIN_PYTHON = REPO / ".venv-train" / "bin" / "python"
CHATS = [
    {
        "messages": [
            {"role": "system", "content": "You answer with the capital."},
            {"role": "user", "content": f"capital of {country}?"},
            {"role": "assistant", "content": f"the capital of {country} is {city}."},
        ]
    }
    for country, city in [("france", "paris"), ("italy", "rome"), ("spain", "madrid"), ("japan", "tokyo")]
] * 3
FINISHED = ("succeeded", "failed", "cancelled")


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


@pytest.fixture()
def http(live_server: str, admin_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, headers={"X-API-Key": admin_key}, timeout=30) as client:
        yield client


def _wait_job(client: openai.OpenAI, job_id: str, wanted: tuple[str, ...], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in wanted:
            return job
        assert job.status not in FINISHED, job
        assert time.monotonic() < deadline, job
        time.sleep(0.5)


def _wait_deployed(http: httpx.Client, path: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = http.get(path).json()
        if body["status"] == "Deployed":
            return dict(body)
        assert body["status"] in ("Pending", "Deploying"), body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def test_fine_tune_deploy_and_call_by_ft_id(openai_client: openai.OpenAI, http: httpx.Client) -> None:
    if not TRAIN_PYTHON.exists():
        pytest.fail(f"{TRAIN_PYTHON} is missing: `make .venv-train/.installed` (make local does it)")
    client = openai_client
    training_file = client.files.create(
        file=("capitals.jsonl", io.BytesIO(_jsonl(CHATS))), purpose="fine-tune"
    )
    created = client.fine_tuning.jobs.create(
        model="tiny-local",
        training_file=training_file.id,
        suffix="acc",
        seed=11,
        metadata={"run": "e2e"},
        # As the deployments test trains tiny-local: enough for real words in a few seconds.
        method={
            "type": "supervised",
            "supervised": {"hyperparameters": {"n_epochs": 8, "learning_rate_multiplier": 25}},
        },
    )
    assert created.id.startswith("ftjob-") and created.status == "queued"
    assert (created.model, created.training_file, created.seed) == ("tiny-local", training_file.id, 11)
    assert created.hyperparameters.n_epochs == 8 and created.fine_tuned_model is None

    done = _wait_job(client, created.id, FINISHED, timeout=300)
    assert done.status == "succeeded", done.error
    assert (
        done.fine_tuned_model
        == f"ft:tiny-local:{done.organization_id}:acc:{created.id.removeprefix('ftjob-')}"
    )
    assert done.finished_at and done.finished_at >= done.created_at
    # The same job through the control plane, with the same outcome.
    extra = done.model_extra or {}
    project, training_job = extra["project_id"], extra["training_job_id"]
    relay_job = http.get(f"/projects/{project}/training-jobs/{training_job}").json()
    assert (relay_job["status"], relay_job["name"]) == ("Success", created.id)

    events = list(client.fine_tuning.jobs.list_events(created.id, limit=100))
    metrics = [e for e in reversed(events) if e.type == "metrics"]
    assert len(metrics) >= 2 and all(e.object == "fine_tuning.job.event" for e in events)
    losses = [float(e.data["train_loss"]) for e in metrics]  # type: ignore[index]
    assert losses[-1] < losses[0], losses
    assert any(e.message.startswith("New fine-tuned model created") for e in events)

    checkpoints = client.fine_tuning.jobs.checkpoints.list(created.id).data
    assert checkpoints and checkpoints[0].step_number == max(c.step_number for c in checkpoints)
    assert (
        checkpoints[0].fine_tuned_model_checkpoint
        == f"{done.fine_tuned_model}:ckpt-step-{checkpoints[0].step_number}"
    )

    (result_file,) = done.result_files
    assert client.files.retrieve(result_file).purpose == "fine-tune-results"
    csv_lines = client.files.content(result_file).read().decode().splitlines()
    assert csv_lines[0] == "step,timestamp,train_loss" and len(csv_lines) == len(metrics) + 1

    question = [{"role": "user", "content": "capital of france?"}]
    with pytest.raises(openai.NotFoundError, match="is not deployed") as missing:
        client.chat.completions.create(model=done.fine_tuned_model, messages=question)  # type: ignore[arg-type]
    assert f'"training_job_id": "{training_job}"' in str(missing.value)

    deployed = http.post(
        f"/projects/{project}/deployments",
        json={
            "training_job_id": training_job,
            "checkpoint": checkpoints[0].step_number,
            "name": "e2e-ft-acc",
        },
    )
    assert deployed.status_code == 201, deployed.text
    path = f"/projects/{project}/deployments/{deployed.json()['id']}"
    try:
        _wait_deployed(http, path)
        reply = client.chat.completions.create(
            model=done.fine_tuned_model,
            messages=question,  # type: ignore[arg-type]
            max_tokens=8,
            temperature=0,
        )
        by_name = client.chat.completions.create(
            model="e2e-ft-acc",
            messages=question,  # type: ignore[arg-type]
            max_tokens=8,
            temperature=0,
        )
        # Greedy decoding: the ft: id reaches exactly the deployment serving this checkpoint.
        assert (
            reply.choices[0].message.content
            and reply.choices[0].message.content == by_name.choices[0].message.content
        )
    finally:
        assert http.delete(path).status_code in (200, 202, 204)


def test_a_bad_file_fails_cancel_cancels_and_list_pages(
    openai_client: openai.OpenAI, http: httpx.Client
) -> None:
    client = openai_client
    broken = _jsonl(CHATS[:2]) + b'{"messages": [{"role": "wizard", "content": "hi"}]}\n{not json\n'
    bad_file = client.files.create(file=("broken.jsonl", io.BytesIO(broken)), purpose="fine-tune")
    bad = client.fine_tuning.jobs.create(model="tiny-local", training_file=bad_file.id)
    assert bad.status == "failed" and bad.error is not None
    assert (bad.error.code, bad.error.param) == ("invalid_training_file", "training_file")
    assert "line 3" in bad.error.message and "line 4" in bad.error.message
    assert client.fine_tuning.jobs.retrieve(bad.id).status == "failed"

    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        batch_file = client.files.create(file=("b.jsonl", io.BytesIO(_jsonl(CHATS))), purpose="batch")
        client.fine_tuning.jobs.create(model="tiny-local", training_file=batch_file.id)
    with pytest.raises(openai.BadRequestError, match="dpo"):
        client.fine_tuning.jobs.create(model="tiny-local", training_file=bad_file.id, method={"type": "dpo"})

    good = client.files.create(file=("capitals.jsonl", io.BytesIO(_jsonl(CHATS))), purpose="fine-tune")
    long = client.fine_tuning.jobs.create(
        model="tiny-local", training_file=good.id, hyperparameters={"n_epochs": 50}
    )
    _wait_job(client, long.id, ("running",), timeout=120)
    with pytest.raises(openai.BadRequestError, match="cancelling"):
        client.fine_tuning.jobs.pause(long.id)
    cancelled = client.fine_tuning.jobs.cancel(long.id)
    assert cancelled.status == "cancelled"
    extra = cancelled.model_extra or {}
    relay_job = http.get(f"/projects/{extra['project_id']}/training-jobs/{extra['training_job_id']}").json()
    assert relay_job["status"] == "Cancelled"

    first = client.fine_tuning.jobs.list(limit=1)
    assert [j.id for j in first.data] == [long.id] and first.has_more
    rest = client.fine_tuning.jobs.list(after=long.id, limit=100)
    assert rest.data[0].id == bad.id and long.id not in [j.id for j in rest.data]
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve("ftjob-0000000000000000")


def test_reinforcement_trains_grpo_with_the_grader_as_reward(
    openai_client: openai.OpenAI, http: httpx.Client
) -> None:
    client = openai_client
    lines = [
        {"messages": [{"role": "user", "content": f"capital of {row['messages'][1]['content'].split()[-1]}"}],
         "answer": row["messages"][2]["content"]}
        for row in CHATS
    ]  # fmt: skip
    training_file = client.files.create(file=("rft.jsonl", io.BytesIO(_jsonl(lines))), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(
        model="tiny-local",
        training_file=training_file.id,
        method={
            "type": "reinforcement",
            "reinforcement": {
                "grader": {
                    "type": "text_similarity",
                    "name": "overlap",
                    "input": "{{sample.output_text}}",
                    "reference": "{{item.answer}}",
                    "evaluation_metric": "rouge_l",
                },
                "hyperparameters": {"n_epochs": 1},
            },
        },
    )
    assert job.method is not None and job.method.type == "reinforcement"
    done = _wait_job(client, job.id, FINISHED, timeout=300)
    assert done.status == "succeeded", done.error
    extra = done.model_extra or {}
    relay_job = http.get(f"/projects/{extra['project_id']}/training-jobs/{extra['training_job_id']}").json()
    assert (relay_job["training_technique"], relay_job["reward"]) == ("GRPO", {"rouge_l": 1.0})
    assert client.fine_tuning.jobs.checkpoints.list(job.id).data
