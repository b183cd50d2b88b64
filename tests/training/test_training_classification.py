"""Classification and regression heads: labels saved where /v1/classification finds them, and learning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from training_support import Job
from transformers import AutoModelForSequenceClassification, AutoTokenizer

pytestmark = pytest.mark.training

TEXTS = {
    "positive": [
        "the movie was great",
        "wonderful lovely movie",
        "the food was good",
        "great good wonderful",
    ],
    "negative": ["the movie was awful", "terrible boring movie", "the food was bad", "awful bad terrible"],
    "neutral": ["the movie was okay", "fine average movie", "the food was okay", "average okay fine"],
}


def predict(model_dir: Path, texts: list[str]) -> torch.Tensor:
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    with torch.no_grad():
        return model(**tokenizer(texts, padding=True, return_tensors="pt")).logits


def test_classifier_saves_its_labels_and_beats_chance(tiny_model: Path, job: Job, run_job) -> None:
    rows = [{"text": text, "label": label} for label, texts in TEXTS.items() for text in texts]
    job.write_rows(rows)
    job.write_rows(rows[::4], channel="test")
    hyperparameters = {
        "model_name_or_path": str(tiny_model),
        "task_type": "classification",
        "learning_rate": 0.01,
        "num_train_epochs": 10,
        "per_device_train_batch_size": 4,
        "save_steps": 15,
        "logging_steps": 5,
    }
    assert run_job(job, hyperparameters) == 0

    expected_labels = ["negative", "neutral", "positive"]
    labels = json.loads((job.model_dir / "labels.json").read_text())
    assert labels["labels"] == expected_labels
    assert labels["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}
    assert labels["problem_type"] == "single_label_classification"
    config = json.loads((job.model_dir / "config.json").read_text())
    assert config["id2label"] == labels["id2label"] and config["label2id"] == labels["label2id"]
    for checkpoint in ("checkpoint-15", "checkpoint-30"):
        assert json.loads((job.checkpoints / checkpoint / "labels.json").read_text()) == labels
        assert (
            json.loads((job.checkpoints / checkpoint / "relay_checkpoint.json").read_text())["task_type"]
            == "classification"
        )

    texts = [row["text"] for row in rows]
    predicted = predict(job.model_dir, texts).argmax(dim=-1).tolist()
    accuracy = sum(
        expected_labels[index] == row["label"] for index, row in zip(predicted, rows, strict=True)
    ) / len(rows)
    assert accuracy >= 0.75, accuracy  # chance is 1/3
    assert any("eval_accuracy" in record for record in job.metric_records())


def test_regression_from_csv_fits_better_than_the_mean(tiny_model: Path, job: Job, run_job) -> None:
    scores = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}
    job.train.mkdir(parents=True)
    # The header the dataset API accepts for regression (`text,label` would be classification).
    lines = ["text,score"] + [f"{text},{scores[label]}" for label, texts in TEXTS.items() for text in texts]
    (job.train / "scores.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    hyperparameters = {
        "model_name_or_path": str(tiny_model),
        "task_type": "regression",
        "learning_rate": 0.01,
        "num_train_epochs": 10,
        "per_device_train_batch_size": 4,
        "logging_steps": 10,
    }
    assert run_job(job, hyperparameters) == 0

    assert json.loads((job.model_dir / "labels.json").read_text())["problem_type"] == "regression"
    config = json.loads((job.model_dir / "config.json").read_text())
    assert config["problem_type"] == "regression" and len(config["id2label"]) == 1
    texts = [text for texts in TEXTS.values() for text in texts]
    targets = torch.tensor([scores[label] for label, texts in TEXTS.items() for _ in texts])
    predictions = predict(job.model_dir, texts).squeeze(-1)
    mse = torch.mean((predictions - targets) ** 2).item()
    baseline = torch.mean((targets - targets.mean()) ** 2).item()
    assert mse < baseline / 2, (mse, baseline)


def test_classifier_with_lora_keeps_its_head_trainable_and_labelled(
    tiny_model: Path, job: Job, run_job
) -> None:
    rows = [{"text": text, "label": label} for label, texts in TEXTS.items() for text in texts]
    job.write_rows(rows)
    hyperparameters = {
        "model_name_or_path": str(tiny_model),
        "task_type": "classification",
        "use_lora": True,
        "lora_r": 4,
        "learning_rate": 0.01,
        "max_steps": 4,
        "per_device_train_batch_size": 4,
        "logging_steps": 1,
    }
    assert run_job(job, hyperparameters) == 0
    adapter = json.loads((job.model_dir / "adapter_config.json").read_text())
    assert adapter["task_type"] == "SEQ_CLS"
    assert json.loads((job.model_dir / "labels.json").read_text())["labels"] == [
        "negative",
        "neutral",
        "positive",
    ]
    assert json.loads((job.model_dir / "relay_model.json").read_text())["adapter"] is True
