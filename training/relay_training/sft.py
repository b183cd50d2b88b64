"""Supervised fine-tuning with TRL's SFTTrainer: LoRA by default, full fine-tuning on request."""

from __future__ import annotations

from typing import Any

from datasets import Dataset
from transformers import AutoModelForCausalLM
from trl import SFTConfig, SFTTrainer

from relay_training import data, runtime
from relay_training.callbacks import CheckpointMetadataCallback, MetricLineCallback
from relay_training.checkpoints import RunIdentity
from relay_training.config import JobConfig, Paths
from relay_training.metrics import MetricSink


def build_datasets(config: JobConfig, paths: Paths, chat: bool) -> tuple[Dataset, Dataset | None]:
    train_rows = data.sft_examples(data.read_records(paths.train), chat)
    test_rows = data.sft_examples(data.read_records(paths.test), chat) if paths.test else None
    return Dataset.from_list(train_rows), Dataset.from_list(test_rows) if test_rows else None


def run(config: JobConfig, paths: Paths, sink: MetricSink) -> dict[str, Any]:
    """Train, checkpoint and save; returns the final metric record."""
    precision = runtime.detect_precision()
    tokenizer = runtime.load_tokenizer(config.base_model_path)
    train_dataset, eval_dataset = build_datasets(config, paths, runtime.has_chat_template(tokenizer))
    model = AutoModelForCausalLM.from_pretrained(
        str(config.base_model_path), dtype=runtime.load_dtype(config, precision), local_files_only=True
    )
    identity = RunIdentity("text-generation", "SFT", config.base_model, adapter=config.use_lora)
    arguments = SFTConfig(
        **runtime.training_arguments(config, paths, precision, evaluate=eval_dataset is not None),
        max_length=config.max_length,
        # The spec's `dynamic_loss` is TRL's Dynamic Fine-Tuning loss (token loss scaled by its probability).
        loss_type="dft" if config.dynamic_loss else "nll",
        # Loss on the answer only: prompts are context, not text to imitate.
        completion_only_loss=True,
    )
    trainer = SFTTrainer(
        model=model,
        args=arguments,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        peft_config=runtime.lora_config(config, "CAUSAL_LM") if config.use_lora else None,
        callbacks=[MetricLineCallback(sink), CheckpointMetadataCallback(identity)],
    )
    runtime.train(trainer, paths)
    return runtime.finish(trainer, paths, sink, identity, merge_lora=config.merge_lora)
