"""What every Trainer-based task shares: precision, tokenizer, LoRA, arguments, resume and final save."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PrinterCallback, Trainer

from relay_training.callbacks import latest_loss
from relay_training.checkpoints import RunIdentity, list_checkpoints, write_model_metadata
from relay_training.config import JobConfig, Paths
from relay_training.metrics import MetricSink

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Precision:
    """Mixed-precision flags for the Trainer and the dtype to load LoRA base weights in."""

    bf16: bool
    fp16: bool
    use_cpu: bool
    dtype: torch.dtype


def detect_precision() -> Precision:
    """bf16 on GPUs that support it (A10G, A100, H100, L4), fp16 on older GPUs, fp32 on CPU."""
    if torch.cuda.is_available():
        if torch.cuda.is_bf16_supported():
            return Precision(bf16=True, fp16=False, use_cpu=False, dtype=torch.bfloat16)
        return Precision(bf16=False, fp16=True, use_cpu=False, dtype=torch.float16)
    return Precision(bf16=False, fp16=False, use_cpu=True, dtype=torch.float32)


def load_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    """The base model's tokenizer from disk, with a pad token (batching needs one)."""
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    if tokenizer.pad_token is None:
        raise ValueError(f"the tokenizer in {path} has no pad, eos or unk token to pad batches with")
    return tokenizer


def has_chat_template(tokenizer: PreTrainedTokenizerBase) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def lora_config(config: JobConfig, task_type: str) -> LoraConfig:
    """LoRA over the configured modules; PEFT keeps classification heads trainable for SEQ_CLS."""
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_target_modules,
        task_type=task_type,
    )


def load_dtype(config: JobConfig, precision: Precision) -> torch.dtype:
    # Frozen LoRA base weights can live in half precision; fully trained weights stay in fp32
    # with autocast, as the optimiser needs full-precision master weights.
    return precision.dtype if config.use_lora else torch.float32


def training_arguments(
    config: JobConfig, paths: Paths, precision: Precision, evaluate: bool
) -> dict[str, Any]:
    """Keyword arguments shared by TrainingArguments, SFTConfig and GRPOConfig."""
    strategy = "steps" if config.save_steps else "epoch"
    arguments: dict[str, Any] = {
        "output_dir": str(paths.checkpoint_dir),
        "learning_rate": config.learning_rate,
        "num_train_epochs": config.num_train_epochs,
        "max_steps": config.max_steps,
        "per_device_train_batch_size": config.per_device_train_batch_size,
        "per_device_eval_batch_size": config.per_device_eval_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "warmup_steps": config.warmup_ratio,
        "weight_decay": config.weight_decay,
        "seed": config.seed,
        "data_seed": config.seed,
        "logging_strategy": "steps",
        "logging_steps": config.logging_steps,
        "save_strategy": strategy,
        "save_total_limit": config.save_total_limit,
        "eval_strategy": strategy if evaluate else "no",
        "bf16": precision.bf16,
        "fp16": precision.fp16,
        "use_cpu": precision.use_cpu,
        "activation_checkpointing": config.gradient_checkpointing,
        "report_to": [],
        # Progress bars are noise in CloudWatch; the RELAY_METRIC lines carry the same information.
        "disable_tqdm": True,
    }
    if config.save_steps:
        arguments["save_steps"] = config.save_steps
        if evaluate:
            arguments["eval_steps"] = config.save_steps
    return arguments


def resume_from(paths: Paths) -> str | None:
    """The newest complete checkpoint, so a Spot interruption continues where it stopped."""
    checkpoints = list_checkpoints(paths.checkpoint_dir)
    if not checkpoints:
        return None
    logger.info("resuming from %s", checkpoints[-1])
    return str(checkpoints[-1])


def train(trainer: Trainer, paths: Paths) -> None:
    """Run the Trainer (resuming when a checkpoint exists) without its plain-text log printer."""
    trainer.remove_callback(PrinterCallback)
    trainer.train(resume_from_checkpoint=resume_from(paths))


def finish(
    trainer: Trainer,
    paths: Paths,
    sink: MetricSink,
    identity: RunIdentity,
    merge_lora: bool = False,
    **model_fields: Any,
) -> dict[str, Any]:
    """Save the final model (adapter, or merged weights), its metadata, and the progress-100 line."""
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    model = trainer.model
    if merge_lora and identity.adapter and hasattr(model, "merge_and_unload"):
        model.merge_and_unload().save_pretrained(str(paths.model_dir))
        identity = RunIdentity(
            identity.task_type, identity.training_technique, identity.base_model, adapter=False
        )
    else:
        trainer.save_model(str(paths.model_dir))
    if trainer.processing_class is not None:
        trainer.processing_class.save_pretrained(str(paths.model_dir))
    state = trainer.state
    loss = latest_loss(state)
    write_model_metadata(
        paths.model_dir, identity, step=state.global_step, epoch=state.epoch, loss=loss, **model_fields
    )
    return sink.finish(step=state.global_step, epoch=round(float(state.epoch or 0.0), 4), loss=loss)
