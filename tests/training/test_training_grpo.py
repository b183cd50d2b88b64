"""GRPO in-process: the reward from relay.evaluation's testing functions rises as the model learns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training_support import Job

pytestmark = pytest.mark.training

REWARD = {"contains_match": 1.0, "token_f1": 0.5}


def test_reward_rises_when_the_model_learns_to_say_the_expected_word(
    tiny_model: Path, job: Job, run_job
) -> None:
    # A random 40-word model rarely says "yes" in 4 tokens; contains_match and token_f1 pay for it,
    # so group-relative advantages push its probability up. Seeded, and with a wide margin
    # (seeds 0-7 all took the mean reward of the first five steps from 0.0-0.3 to 0.7-1.2 by the last five).
    job.write_rows([{"prompt": "say yes", "expected_output": "yes"}] * 16)
    hyperparameters = {
        "model_name_or_path": str(tiny_model),
        "training_technique": "GRPO",
        "reward": REWARD,
        "use_lora": False,
        "learning_rate": 0.02,
        "max_steps": 20,
        "save_steps": 10,
        "logging_steps": 1,
        "per_device_train_batch_size": 8,
        "num_generations": 8,
        "max_completion_length": 4,
        "gradient_checkpointing": False,
        "seed": 0,
    }
    assert run_job(job, hyperparameters) == 0

    records = [record for record in job.metric_records() if "reward" in record]
    assert [record["step"] for record in records] == list(range(1, 21))
    rewards = [record["reward"] for record in records]
    # The logged reward is the weighted sum of the per-function means.
    for record in records:
        expected = sum(weight * record[f"rewards/{name}/mean"] for name, weight in REWARD.items())
        assert record["reward"] == pytest.approx(expected, abs=1e-4)
    first, last = sum(rewards[:5]) / 5, sum(rewards[-5:]) / 5
    assert last > first + 0.3, rewards
    assert max(rewards) <= sum(REWARD.values()) + 1e-6

    metadata = json.loads((job.checkpoints / "checkpoint-20" / "relay_checkpoint.json").read_text())
    assert metadata["training_technique"] == "GRPO" and metadata["step"] == 20
    assert json.loads((job.model_dir / "relay_model.json").read_text())["reward"] == REWARD


def test_group_size_must_divide_the_generation_batch(tiny_model: Path, job: Job, run_job) -> None:
    job.write_rows([{"prompt": "say yes", "expected_output": "yes"}])
    hyperparameters = {
        "model_name_or_path": str(tiny_model),
        "reward": {"exact_match": 1},
        "per_device_train_batch_size": 6,
        "num_generations": 4,
    }
    assert run_job(job, hyperparameters) == 2
    assert "num_generations (4)" in (job.output / "failure").read_text()
