"""Metadata files written beside every checkpoint and the final model, for the pipeline to register.

Standard library only, so the pipeline can import the file names and readers as they are.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKPOINT_METADATA = "relay_checkpoint.json"
MODEL_METADATA = "relay_model.json"
LABELS_FILE = "labels.json"
CHECKPOINT_PREFIX = "checkpoint-"
_CHECKPOINT_DIR = re.compile(rf"^{CHECKPOINT_PREFIX}(\d+)$")


@dataclass(frozen=True)
class RunIdentity:
    """What every metadata file says about the run that produced it."""

    task_type: str
    training_technique: str
    base_model: str
    adapter: bool  # True when the weights are a PEFT LoRA adapter over base_model

    def as_dict(self) -> dict[str, Any]:
        return {
            "task_type": self.task_type,
            "training_technique": self.training_technique,
            "base_model": self.base_model,
            "adapter": self.adapter,
        }


def _write_json(path: Path, document: dict[str, Any]) -> None:
    # Write-then-rename: SageMaker syncs the checkpoint folder to S3 while training runs, and a
    # half-written file there would be registered as is.
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)


def write_checkpoint_metadata(
    directory: Path,
    identity: RunIdentity,
    *,
    step: int,
    epoch: float | None,
    loss: float | None,
    metrics: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Write `relay_checkpoint.json` into a checkpoint directory and return its content."""
    document = {
        "checkpoint": step,
        "step": step,
        "epoch": epoch,
        "loss": loss,
        "metrics": dict(metrics or {}),
        "created_at": int(time.time()),
        **identity.as_dict(),
    }
    _write_json(directory / CHECKPOINT_METADATA, document)
    return document


def write_model_metadata(directory: Path, identity: RunIdentity, **fields: Any) -> dict[str, Any]:
    """Write `relay_model.json` into the final model directory and return its content."""
    document = {"created_at": int(time.time()), **identity.as_dict(), **fields}
    _write_json(directory / MODEL_METADATA, document)
    return document


def labels_document(labels: list[str], problem_type: str) -> dict[str, Any]:
    """The content of `labels.json`: label names in id order, and both mappings."""
    return {
        "problem_type": problem_type,
        "labels": list(labels),
        "id2label": {str(index): label for index, label in enumerate(labels)},
        "label2id": {label: index for index, label in enumerate(labels)},
    }


def write_labels(directory: Path, labels: list[str], problem_type: str) -> None:
    """Write `labels.json` (read by `/v1/classification` through the deployment's metadata)."""
    _write_json(directory / LABELS_FILE, labels_document(labels, problem_type))


def checkpoint_step(directory: Path) -> int | None:
    """The step in a `checkpoint-<step>` directory name, or None for any other name."""
    match = _CHECKPOINT_DIR.match(directory.name)
    return int(match.group(1)) if match else None


def list_checkpoints(root: Path) -> list[Path]:
    """Checkpoint directories under root that carry Relay metadata, oldest step first."""
    if not root.is_dir():
        return []
    found = [
        path
        for path in root.iterdir()
        if path.is_dir() and checkpoint_step(path) is not None and (path / CHECKPOINT_METADATA).is_file()
    ]
    return sorted(found, key=lambda path: checkpoint_step(path) or 0)


def read_checkpoint_metadata(directory: Path) -> dict[str, Any]:
    """The parsed `relay_checkpoint.json` of one checkpoint directory."""
    document = json.loads((directory / CHECKPOINT_METADATA).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{directory / CHECKPOINT_METADATA} does not hold a JSON object")
    return document
