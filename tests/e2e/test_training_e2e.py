"""Fine-tuning end to end over HTTP on the local stack: upload a dataset, train SFT on tiny-local
(on CPU, with training/train.py in .venv-train), watch progress and loss, read checkpoints and test
results, continue with GRPO from a checkpoint, cancel a third job."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

# Trains or serves tiny-local: one such test at a time, all on one pytest-xdist worker (Makefile).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("tiny-models")]

QA = [
    {"prompt": f"what is the capital of {country}", "completion": city}
    for country, city in [("france", "paris"), ("italy", "rome"), ("spain", "madrid"), ("germany", "berlin")]
] * 3


def _wait(
    http: httpx.Client, url: str, statuses: tuple[str, ...], timeout: float = 150
) -> tuple[dict[str, Any], list[int]]:
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while True:
        job = http.get(url).json()
        seen.append(job["progress"])
        if job["status"] in statuses:
            return job, seen
        assert time.monotonic() < deadline, job
        time.sleep(0.5)


def test_fine_tune_watch_test_continue_and_cancel(live_server: str, admin_key: str) -> None:
    base = live_server.removesuffix("/v1")
    with httpx.Client(base_url=base, headers={"X-API-Key": admin_key}, timeout=30) as http:
        project = http.post("/v1/projects", json={"name": "e2e-training"}).json()["id"]
        jobs = f"/v1/projects/{project}/training-jobs"
        body = "".join(json.dumps(row) + "\n" for row in QA).encode()
        dataset = http.post(
            f"/v1/projects/{project}/datasets", files={"file": ("qa.jsonl", body)}, data={"name": "capitals"}
        ).json()["id"]

        created = http.post(
            jobs,
            json={
                "base_model": "tiny-local",
                "train_dataset_id": dataset,
                "train_test_split_ratio": 25,
                "test_functions": ["exact_match", "rouge_l"],
                "name": "capitals-sft",
                "parameters": {"num_train_epochs": 2},
            },
        )
        assert created.status_code == 201, created.text
        sft = created.json()
        assert (sft["status"], sft["training_technique"], sft["train_dataset_name"]) == (
            "Pending",
            "SFT",
            "capitals",
        )
        done, progress = _wait(http, f"{jobs}/{sft['id']}", ("Success", "Failed", "TimedOut", "Cancelled"))
        assert done["status"] == "Success", done["failure_reason"]
        assert progress == sorted(progress) and progress[-1] == 100
        assert len(done["training_loss"]) >= 2
        assert done["hyper_parameters"]["num_train_epochs"] == 2
        assert done["train_dataset"]["id"] == dataset and done["test_dataset"] is None

        checkpoints = http.get(f"{jobs}/{sft['id']}/checkpoints").json()
        assert len(checkpoints) == 2  # one per epoch
        for checkpoint in checkpoints:
            assert set(checkpoint["test_results"]["aggregated_test_result"]) == {"exact_match", "rouge_l"}
            assert checkpoint["test_results"]["general_test_result"].startswith("s3://")
        listed = http.get(jobs).json()
        assert [j["id"] for j in listed] == [sft["id"]] and listed[0]["status"] == "Success"

        grpo = http.post(
            f"{jobs}/grpo",
            json={
                "base_model_option": "fine-tuned",
                "base_model": sft["id"],
                "checkpoint": checkpoints[-1]["checkpoint"],
                "train_dataset_id": dataset,
                "test_functions": ["exact_match"],
                "reward": {"exact_match": 0.5, "token_f1": 0.5},
                "parameters": {"per_device_train_batch_size": 4, "num_generations": 2, "max_seq_length": 64},
            },
        )
        assert grpo.status_code == 201, grpo.text
        assert grpo.json()["base_fine_tuned_model"] == sft["id"]
        assert grpo.json()["base_fine_tuned_model_checkpoint"] == checkpoints[-1]["checkpoint"]

        doomed = http.post(
            jobs,
            json={
                "base_model": "tiny-local",
                "train_dataset_id": dataset,
                "parameters": {"num_train_epochs": 50},
            },
        ).json()
        _wait(http, f"{jobs}/{doomed['id']}", ("Running",))
        assert http.post(f"{jobs}/{doomed['id']}/cancel").status_code == 204
        assert http.get(f"{jobs}/{doomed['id']}").json()["status"] == "Cancelled"

        finished, _ = _wait(
            http, f"{jobs}/{grpo.json()['id']}", ("Success", "Failed", "TimedOut", "Cancelled"), timeout=240
        )
        assert finished["status"] == "Success", finished["failure_reason"]
        assert finished["training_technique"] == "GRPO" and finished["reward"] == {
            "exact_match": 0.5,
            "token_f1": 0.5,
        }
        grpo_checkpoints = http.get(f"{jobs}/{grpo.json()['id']}/checkpoints").json()
        assert (
            grpo_checkpoints
            and "exact_match" in grpo_checkpoints[-1]["test_results"]["aggregated_test_result"]
        )
