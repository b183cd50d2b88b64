"""Classification and regression: a sequence-classification head on labelled `{text, label}` rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset
from peft import get_peft_model
from transformers import (
    AutoModelForSequenceClassification,
    DataCollatorWithPadding,
    EvalPrediction,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
)

from relay_training import data, runtime
from relay_training.callbacks import CheckpointMetadataCallback, MetricLineCallback
from relay_training.checkpoints import RunIdentity, write_labels
from relay_training.config import JobConfig, Paths
from relay_training.metrics import MetricSink

SINGLE_LABEL = "single_label_classification"
REGRESSION = "regression"


def _dataset(
    pairs: list[tuple[str, Any]],
    label2id: dict[str, int],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
) -> Dataset:
    texts = [text for text, _ in pairs]
    if label2id:
        labels: list[Any] = [label2id[label] for _, label in pairs]
    else:
        labels = [float(value) for _, value in pairs]
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    return Dataset.from_dict({**encoded, "labels": labels})


def _compute_metrics(regression: bool) -> Any:
    def compute(prediction: EvalPrediction) -> dict[str, float]:
        logits = np.asarray(prediction.predictions)
        targets = np.asarray(prediction.label_ids)
        if regression:
            errors = logits.reshape(-1) - targets.reshape(-1)
            return {"mse": float(np.mean(errors**2)), "mae": float(np.mean(np.abs(errors)))}
        return {"accuracy": float(np.mean(logits.argmax(axis=-1) == targets))}

    return compute


def load_pairs(paths: Paths, regression: bool) -> tuple[list[tuple[str, Any]], list[Any]]:
    """Training and test pairs, as read from the channels (the pipeline already rebalanced them)."""
    train = data.labelled_examples(data.read_records(paths.train), regression)
    test = data.labelled_examples(data.read_records(paths.test), regression) if paths.test else []
    return train, test


def run(config: JobConfig, paths: Paths, sink: MetricSink) -> dict[str, Any]:
    """Train, checkpoint and save a classifier or regressor; returns the final metric record."""
    regression = config.task_type == "regression"
    problem_type = REGRESSION if regression else SINGLE_LABEL
    precision = runtime.detect_precision()
    tokenizer = runtime.load_tokenizer(config.base_model_path)
    train_pairs, test_pairs = load_pairs(paths, regression)
    labels = [] if regression else data.label_names([label for _, label in train_pairs])
    if not regression and len(labels) < 2:
        raise data.DataError(f"classification needs at least two labels, found {labels}")
    unseen = sorted({label for _, label in test_pairs} - set(labels)) if not regression else []
    if unseen:
        raise data.DataError(f"test labels {unseen} never occur in the training data")
    label2id = {label: index for index, label in enumerate(labels)}

    head: dict[str, Any] = {"num_labels": 1}
    if labels:
        head = {"num_labels": len(labels), "id2label": dict(enumerate(labels)), "label2id": label2id}
    model = AutoModelForSequenceClassification.from_pretrained(
        str(config.base_model_path),
        problem_type=problem_type,
        dtype=runtime.load_dtype(config, precision),
        local_files_only=True,
        **head,
    )
    # Decoder-only models classify from the last non-pad token, so they must know the pad id.
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    if config.use_lora:
        model = get_peft_model(model, runtime.lora_config(config, "SEQ_CLS"))

    identity = RunIdentity(config.task_type, "SFT", config.base_model, adapter=config.use_lora)

    def write_label_file(directory: Path) -> None:
        write_labels(directory, labels, problem_type)

    evaluate = bool(test_pairs)
    trainer = Trainer(
        model=model,
        args=TrainingArguments(**runtime.training_arguments(config, paths, precision, evaluate=evaluate)),
        train_dataset=_dataset(train_pairs, label2id, tokenizer, config.max_length),
        eval_dataset=_dataset(test_pairs, label2id, tokenizer, config.max_length) if evaluate else None,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=_compute_metrics(regression),
        callbacks=[
            MetricLineCallback(sink),
            CheckpointMetadataCallback(identity, extra_files=write_label_file),
        ],
    )
    runtime.train(trainer, paths)
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    write_label_file(paths.model_dir)
    return runtime.finish(
        trainer, paths, sink, identity, merge_lora=config.merge_lora, labels=labels, problem_type=problem_type
    )
