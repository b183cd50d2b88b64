"""Embedding models: contrastive training on `{anchor, positive[, negative]}` pairs with mean pooling.

Each anchor must pick its own positive among every positive (and negative) in the batch
(InfoNCE with in-batch negatives). A plain PyTorch loop: no head, no Trainer features needed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from peft import PeftModel, get_peft_model
from transformers import AutoModel, PreTrainedTokenizerBase, get_linear_schedule_with_warmup, set_seed

from relay_training import data, runtime
from relay_training.checkpoints import (
    CHECKPOINT_PREFIX,
    RunIdentity,
    list_checkpoints,
    read_checkpoint_metadata,
    write_checkpoint_metadata,
    write_model_metadata,
)
from relay_training.config import ConfigError, JobConfig, Paths
from relay_training.metrics import MetricSink, progress_percent

OPTIMIZER_STATE = "optimizer.pt"


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors that are not padding."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def embed(model: Any, tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int) -> torch.Tensor:
    """Unit-length mean-pooled embeddings of texts (gradients flow when the model trains)."""
    device = next(model.parameters()).device
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(
        device
    )
    hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    return F.normalize(mean_pool(hidden, batch["attention_mask"]).float(), dim=-1)


def contrastive_loss(anchors: torch.Tensor, candidates: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of each anchor against all candidates; anchor i's positive is candidate i."""
    logits = anchors @ candidates.T / temperature
    return F.cross_entropy(logits, torch.arange(len(anchors), device=anchors.device))


def write_pooling_config(directory: Path) -> None:
    """Sentence-Transformers module files, so TEI and sentence-transformers pool the same way."""
    dimension = json.loads((directory / "config.json").read_text(encoding="utf-8")).get("hidden_size")
    (directory / "1_Pooling").mkdir(exist_ok=True)
    pooling = {"word_embedding_dimension": dimension, "pooling_mode_mean_tokens": True}
    (directory / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2), encoding="utf-8")
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (directory / "modules.json").write_text(json.dumps(modules, indent=2), encoding="utf-8")


class _Run:
    """The loop's state: model, optimiser, schedule and where in the data it stands."""

    def __init__(self, config: JobConfig, paths: Paths, sink: MetricSink) -> None:
        self.config, self.paths, self.sink = config, paths, sink
        self.identity = RunIdentity("embedding", "SFT", config.base_model, adapter=config.use_lora)
        self.tokenizer = runtime.load_tokenizer(config.base_model_path)
        self.pairs = data.pair_examples(data.read_records(paths.train))
        batch = config.per_device_train_batch_size
        if batch < 2 and "negative" not in self.pairs[0]:
            raise ConfigError("embedding training needs per_device_train_batch_size >= 2 (or negatives)")
        self.steps_per_epoch = math.ceil(len(self.pairs) / batch)
        self.total_steps = (
            config.max_steps
            if config.max_steps > 0
            else math.ceil(config.num_train_epochs * self.steps_per_epoch)
        )
        resume = list_checkpoints(paths.checkpoint_dir)
        source = resume[-1] if resume else config.base_model_path
        device = "cuda" if torch.cuda.is_available() else "cpu"
        if resume and config.use_lora:
            base = AutoModel.from_pretrained(str(config.base_model_path), local_files_only=True)
            self.model: Any = PeftModel.from_pretrained(base, str(source), is_trainable=True)
        else:
            self.model = AutoModel.from_pretrained(str(source), local_files_only=True)
            if config.use_lora:
                self.model = get_peft_model(self.model, runtime.lora_config(config, "FEATURE_EXTRACTION"))
        self.model.to(device).train()
        self.optimizer = torch.optim.AdamW(
            [p for p in self.model.parameters() if p.requires_grad],
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
        )
        warmup = config.warmup_ratio if config.warmup_ratio >= 1 else config.warmup_ratio * self.total_steps
        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, int(warmup), self.total_steps)
        self.step = 0
        if resume:
            state = torch.load(source / OPTIMIZER_STATE, map_location=device, weights_only=True)
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.step = int(read_checkpoint_metadata(source)["step"])
        self.autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=runtime.detect_precision().bf16)

    def batch(self, step: int) -> list[dict[str, str]]:
        # One fixed permutation per epoch, derived from the seed, so a resumed run sees the same order.
        epoch, index = divmod(step, self.steps_per_epoch)
        order = torch.randperm(
            len(self.pairs), generator=torch.Generator().manual_seed(self.config.seed + epoch)
        )
        size = self.config.per_device_train_batch_size
        return [self.pairs[int(i)] for i in order[index * size : (index + 1) * size]]

    def train_step(self, rows: list[dict[str, str]]) -> float:
        with self.autocast:
            anchors = embed(
                self.model, self.tokenizer, [row["anchor"] for row in rows], self.config.max_length
            )
            texts = [row["positive"] for row in rows] + [row["negative"] for row in rows if "negative" in row]
            candidates = embed(self.model, self.tokenizer, texts, self.config.max_length)
            loss = contrastive_loss(anchors, candidates, self.config.contrastive_temperature)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(directory))
        self.tokenizer.save_pretrained(str(directory))
        if (directory / "config.json").is_file():
            write_pooling_config(directory)

    def checkpoint(self, loss: float | None) -> None:
        directory = self.paths.checkpoint_dir / f"{CHECKPOINT_PREFIX}{self.step}"
        self.save(directory)
        state = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}
        torch.save(state, directory / OPTIMIZER_STATE)
        epoch = round(self.step / self.steps_per_epoch, 4)
        write_checkpoint_metadata(directory, self.identity, step=self.step, epoch=epoch, loss=loss)


def run(config: JobConfig, paths: Paths, sink: MetricSink) -> dict[str, Any]:
    """Train, checkpoint and save an embedding model; returns the final metric record."""
    set_seed(config.seed)
    state = _Run(config, paths, sink)
    log_every = max(
        1,
        math.ceil(config.logging_steps * state.total_steps)
        if config.logging_steps < 1
        else int(config.logging_steps),
    )
    save_every = config.save_steps or state.steps_per_epoch
    losses: list[float] = []
    loss: float | None = None
    while state.step < state.total_steps:
        losses.append(state.train_step(state.batch(state.step)))
        state.step += 1
        if state.step % log_every == 0 or state.step == state.total_steps:
            loss = sum(losses) / len(losses)
            losses.clear()
            sink.emit(
                {
                    "step": state.step,
                    "epoch": round(state.step / state.steps_per_epoch, 4),
                    "loss": loss,
                    "learning_rate": state.scheduler.get_last_lr()[0],
                    "progress": progress_percent(state.step, state.total_steps),
                }
            )
        if state.step % save_every == 0 or state.step == state.total_steps:
            state.checkpoint(loss)
    state.save(paths.model_dir)
    epoch = round(state.step / state.steps_per_epoch, 4)
    write_model_metadata(
        paths.model_dir, state.identity, step=state.step, epoch=epoch, loss=loss, pooling="mean"
    )
    return sink.finish(step=state.step, epoch=epoch, loss=loss)
