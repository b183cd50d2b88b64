"""Embedding training: after contrastive training each anchor retrieves its own positive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from training_support import Job
from transformers import AutoModel, AutoTokenizer

from relay_training.embedding import embed

pytestmark = pytest.mark.training

PAIRS = [
    ("red apple", "yellow banana"),
    ("a cat sits", "a dog runs"),
    ("capital of france", "paris"),
    ("capital of italy", "rome"),
    ("movie was great", "wonderful lovely"),
    ("movie was awful", "terrible boring"),
]


def retrieval_accuracy(model_dir: Path) -> float:
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    with torch.no_grad():
        anchors = embed(model, tokenizer, [anchor for anchor, _ in PAIRS], 32)
        positives = embed(model, tokenizer, [positive for _, positive in PAIRS], 32)
    best = (anchors @ positives.T).argmax(dim=-1)
    return (best == torch.arange(len(PAIRS))).float().mean().item()


def test_contrastive_training_pulls_pairs_together(tiny_model: Path, job: Job, run_job) -> None:
    job.write_rows([{"anchor": anchor, "positive": positive} for anchor, positive in PAIRS])
    hyperparameters = {
        "model_name_or_path": str(tiny_model),
        "task_type": "embedding",
        "learning_rate": 0.01,
        "num_train_epochs": 15,
        "per_device_train_batch_size": 6,
        "save_steps": 5,
        "logging_steps": 5,
    }
    assert run_job(job, hyperparameters) == 0

    before = retrieval_accuracy(tiny_model)
    after = retrieval_accuracy(job.model_dir)
    assert after == 1.0 and after > before, (before, after)

    losses = [record["loss"] for record in job.metric_records() if not record.get("final")]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert sorted(path.name for path in job.checkpoints.iterdir()) == [
        "checkpoint-10",
        "checkpoint-15",
        "checkpoint-5",
    ]
    metadata = json.loads((job.checkpoints / "checkpoint-15" / "relay_checkpoint.json").read_text())
    assert metadata["task_type"] == "embedding" and metadata["epoch"] == 15.0
    pooling = json.loads((job.model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling == {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}


def test_embedding_training_resumes_from_its_checkpoint(tiny_model: Path, job: Job, run_job) -> None:
    job.write_rows([{"anchor": anchor, "positive": positive} for anchor, positive in PAIRS])
    base = {"model_name_or_path": str(tiny_model), "task_type": "embedding", "per_device_train_batch_size": 3}
    assert run_job(job, {**base, "max_steps": 2, "save_steps": 2, "logging_steps": 1}) == 0
    (job.output_data / "metrics.jsonl").unlink()
    assert run_job(job, {**base, "max_steps": 4, "save_steps": 2, "logging_steps": 1}) == 0
    assert [record["step"] for record in job.metric_records() if not record.get("final")] == [3, 4]
    assert (
        json.loads((job.checkpoints / "checkpoint-4" / "relay_checkpoint.json").read_text())["epoch"] == 2.0
    )
