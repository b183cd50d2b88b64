"""After training: each checkpoint's answers to the test split, for the pipeline's testing step.

Writes `predictions.jsonl` ({input, expected, predicted} per test row) into every checkpoint folder;
the folders reach S3 through the job's CheckpointConfig and the pipeline scores them with the
chosen testing functions. Also: continuing from an earlier job's checkpoint (the `adapter` channel).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from relay_training import data
from relay_training.checkpoints import list_checkpoints
from relay_training.config import JobConfig, Paths

logger = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.jsonl"
ENV_ADAPTER_CHANNEL = "SM_CHANNEL_ADAPTER"
DEFAULT_ADAPTER_CHANNEL = "/opt/ml/input/data/adapter"
ADAPTER_CONFIG = "adapter_config.json"
MAX_NEW_TOKENS = 64


def _load(model_dir: Path, base: Path) -> Any:
    """A causal LM from a full-weights folder, or the base model with a LoRA adapter folder merged in."""
    from transformers import AutoModelForCausalLM

    if (model_dir / ADAPTER_CONFIG).is_file():
        from peft import PeftModel

        model = AutoModelForCausalLM.from_pretrained(str(base), local_files_only=True)
        return PeftModel.from_pretrained(model, str(model_dir), local_files_only=True).merge_and_unload()
    return AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True)


def apply_adapter_channel(config: JobConfig, env: Mapping[str, str]) -> JobConfig:
    """Train on top of an earlier checkpoint: merge it into the base model, train from the result."""
    channel = Path(env.get(ENV_ADAPTER_CHANNEL, DEFAULT_ADAPTER_CHANNEL))
    if not channel.is_dir():
        return config
    from transformers import AutoTokenizer

    merged = Path(tempfile.mkdtemp(prefix="relay-merged-"))
    _load(channel, config.base_model_path).save_pretrained(str(merged))
    AutoTokenizer.from_pretrained(str(config.base_model_path), local_files_only=True).save_pretrained(
        str(merged)
    )
    logger.info("continuing from checkpoint %s (merged into %s)", channel, merged)
    return dataclasses.replace(config, base_model_path=merged)


def _prompt_text(tokenizer: Any, prompt: Any) -> str:
    if isinstance(prompt, list):
        return str(tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True))
    return str(prompt)


def write_predictions(config: JobConfig, paths: Paths) -> int:
    """Predictions of every saved checkpoint on the test split; returns how many files were written."""
    if paths.test is None or config.task_type != "text-generation":
        return 0  # classification, regression and embedding checkpoints are scored by their eval metrics
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(config.base_model_path), local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    chat = bool(getattr(tokenizer, "chat_template", None))
    rows = data.grpo_examples(data.read_records(paths.test), chat)
    written = 0
    for checkpoint in list_checkpoints(paths.checkpoint_dir):
        model = _load(checkpoint, config.base_model_path).eval()
        lines = []
        for row in rows:
            encoded = tokenizer(
                _prompt_text(tokenizer, row["prompt"]), return_tensors="pt", add_special_tokens=not chat
            )
            with torch.no_grad():
                output = model.generate(
                    **encoded,
                    max_new_tokens=min(MAX_NEW_TOKENS, config.max_completion_length),
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                )
            answer = tokenizer.decode(output[0][encoded["input_ids"].shape[1] :], skip_special_tokens=True)
            lines.append(
                {"input": row["input_text"], "expected": row["expected_output"], "predicted": answer.strip()}
            )
        (checkpoint / PREDICTIONS_FILE).write_text(
            "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
        )
        written += 1
    logger.info("wrote test-split predictions for %d checkpoint(s)", written)
    return written
