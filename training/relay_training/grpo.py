"""GRPO with TRL's GRPOTrainer, rewarded by the request's weighted testing functions."""

from __future__ import annotations

from typing import Any

from datasets import Dataset
from transformers import AutoModelForCausalLM
from trl import GRPOConfig, GRPOTrainer

from relay_training import data, runtime
from relay_training.callbacks import CheckpointMetadataCallback, MetricLineCallback
from relay_training.checkpoints import RunIdentity
from relay_training.config import ConfigError, JobConfig, Paths
from relay_training.metrics import MetricSink
from relay_training.rewards import reward_functions


def check_group_size(config: JobConfig) -> None:
    """GRPO compares completions within a group, so each generation batch must hold whole groups."""
    per_generation = config.per_device_train_batch_size * config.gradient_accumulation_steps
    if config.num_generations < 2 or per_generation % config.num_generations:
        raise ConfigError(
            f"num_generations ({config.num_generations}) must be at least 2 and divide "
            f"per_device_train_batch_size x gradient_accumulation_steps ({per_generation})"
        )


def run(config: JobConfig, paths: Paths, sink: MetricSink) -> dict[str, Any]:
    """Train, checkpoint and save; returns the final metric record."""
    check_group_size(config)
    precision = runtime.detect_precision()
    tokenizer = runtime.load_tokenizer(config.base_model_path)
    rows = data.grpo_examples(data.read_records(paths.train), runtime.has_chat_template(tokenizer))
    model = AutoModelForCausalLM.from_pretrained(
        str(config.base_model_path), dtype=runtime.load_dtype(config, precision), local_files_only=True
    )
    functions, weights = reward_functions(config.reward)
    identity = RunIdentity("text-generation", "GRPO", config.base_model, adapter=config.use_lora)
    arguments = GRPOConfig(
        # The test split is scored by the pipeline's testing step; evaluating GRPO in the loop
        # would only add generation time.
        **runtime.training_arguments(config, paths, precision, evaluate=False),
        num_generations=config.num_generations,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        beta=config.beta,
        reward_weights=weights,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=functions,
        args=arguments,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=runtime.lora_config(config, "CAUSAL_LM") if config.use_lora else None,
        callbacks=[MetricLineCallback(sink), CheckpointMetadataCallback(identity)],
    )
    runtime.train(trainer, paths)
    return runtime.finish(
        trainer, paths, sink, identity, merge_lora=config.merge_lora, reward=dict(config.reward)
    )
