"""SFT in-process: full fine-tuning with evaluation, and resumption from a checkpoint after a stop."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from training_support import Job

pytestmark = pytest.mark.training

ROWS = [
    {
        "messages": [
            {"role": "user", "content": "what is the capital of france"},
            {"role": "assistant", "content": "paris"},
        ]
    },
    {"prompt": "what is the capital of italy", "completion": "rome"},
] * 4


def hyperparameters(model: Path, **overrides: object) -> dict[str, object]:
    return {
        "model_name_or_path": str(model),
        "use_lora": False,
        "learning_rate": 0.01,
        "per_device_train_batch_size": 4,
        "logging_steps": 1,
        "gradient_checkpointing": False,
        **overrides,
    }


def test_full_fine_tuning_learns_the_answers_and_evaluates(tiny_model: Path, job: Job, run_job) -> None:
    job.write_rows(ROWS)
    job.write_rows(ROWS[:2], channel="test")
    assert run_job(job, hyperparameters(tiny_model, num_train_epochs=6)) == 0

    records = job.metric_records()
    losses = [record["loss"] for record in records if "loss" in record and not record.get("final")]
    assert len(losses) == 12 and all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0] / 2  # completion-only loss on two answers drops fast when it works
    evaluations = [record for record in records if "eval_loss" in record]
    assert len(evaluations) == 6  # once per epoch, alongside each checkpoint
    assert evaluations[-1]["eval_loss"] < evaluations[0]["eval_loss"]

    # Full fine-tuning saves complete weights, not an adapter.
    assert (job.model_dir / "model.safetensors").is_file()
    assert not (job.model_dir / "adapter_config.json").exists()
    metadata = json.loads((job.model_dir / "relay_model.json").read_text())
    assert metadata["adapter"] is False and metadata["step"] == 12
    last = json.loads((job.checkpoints / "checkpoint-12" / "relay_checkpoint.json").read_text())
    assert last["metrics"]["eval_loss"] == pytest.approx(evaluations[-1]["eval_loss"])
    # With a test channel, every checkpoint also carries its answers for the pipeline's testing step.
    predictions = [
        json.loads(line) for line in (job.checkpoints / "checkpoint-12" / "predictions.jsonl").open()
    ]
    assert [(row["input"], row["expected"]) for row in predictions] == [
        ("what is the capital of france", "paris"),
        ("what is the capital of italy", "rome"),
    ]
    assert all(isinstance(row["predicted"], str) for row in predictions)


def test_an_interrupted_job_resumes_from_its_last_checkpoint(tiny_model: Path, job: Job, run_job) -> None:
    job.write_rows(ROWS)
    # First run stops after 2 steps (as a Spot interruption would, checkpoint on disk).
    assert run_job(job, hyperparameters(tiny_model, max_steps=2, save_steps=2)) == 0
    (job.output_data / "metrics.jsonl").unlink()
    assert run_job(job, hyperparameters(tiny_model, max_steps=4, save_steps=2)) == 0
    steps = [
        record["step"] for record in job.metric_records() if "loss" in record and not record.get("final")
    ]
    assert steps == [3, 4]
    assert sorted(path.name for path in job.checkpoints.glob("checkpoint-*")) == [
        "checkpoint-2",
        "checkpoint-4",
    ]


def test_merge_lora_saves_full_weights_that_load_without_peft(tiny_model: Path, job: Job, run_job) -> None:
    from transformers import AutoModelForCausalLM

    job.write_rows(ROWS)
    assert (
        run_job(job, hyperparameters(tiny_model, use_lora=True, merge_lora=True, lora_r=2, max_steps=2)) == 0
    )
    assert not (job.model_dir / "adapter_config.json").exists()
    assert json.loads((job.model_dir / "relay_model.json").read_text())["adapter"] is False
    merged = AutoModelForCausalLM.from_pretrained(str(job.model_dir))
    assert not any("lora" in name for name, _ in merged.named_parameters())
    # The checkpoints stay adapters: they are what resumption and deployment of a checkpoint use.
    assert (job.checkpoints / "checkpoint-2" / "adapter_config.json").is_file()
