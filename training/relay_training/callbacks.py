"""Trainer callbacks: metric lines at every logging step, metadata in every checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from relay_training.checkpoints import CHECKPOINT_PREFIX, RunIdentity, write_checkpoint_metadata
from relay_training.metrics import MetricSink, progress_percent, scalar_metrics


def latest_loss(state: TrainerState) -> float | None:
    """The most recent training loss in the Trainer's log history (GRPO logs it too)."""
    for entry in reversed(state.log_history):
        if "loss" in entry:
            return float(entry["loss"])
    return None


def latest_eval_metrics(state: TrainerState) -> dict[str, float]:
    for entry in reversed(state.log_history):
        if any(key.startswith("eval_") for key in entry):
            return {
                key: float(value) for key, value in scalar_metrics(entry).items() if key.startswith("eval_")
            }
    return {}


class MetricLineCallback(TrainerCallback):
    """Turns every Trainer log into a `RELAY_METRIC` line with step, epoch and progress."""

    def __init__(self, sink: MetricSink) -> None:
        self.sink = sink

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        record: dict[str, Any] = {
            "step": state.global_step,
            "epoch": round(float(state.epoch or 0.0), 4),
            "progress": progress_percent(state.global_step, state.max_steps),
        }
        for key, value in scalar_metrics(logs).items():
            record.setdefault(key, value)
        self.sink.emit(record)


class CheckpointMetadataCallback(TrainerCallback):
    """Writes `relay_checkpoint.json` (and any extra files) into each checkpoint the Trainer saves."""

    def __init__(self, identity: RunIdentity, extra_files: Callable[[Path], None] | None = None) -> None:
        self.identity = identity
        self.extra_files = extra_files

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        directory = Path(args.output_dir) / f"{CHECKPOINT_PREFIX}{state.global_step}"
        if not directory.is_dir():
            return
        if self.extra_files is not None:
            self.extra_files(directory)
        # Metadata last: the pipeline and resumption treat its presence as "checkpoint complete".
        write_checkpoint_metadata(
            directory,
            self.identity,
            step=state.global_step,
            epoch=round(float(state.epoch or 0.0), 4),
            loss=latest_loss(state),
            metrics=latest_eval_metrics(state),
        )
