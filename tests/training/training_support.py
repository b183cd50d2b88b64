"""Helpers for the training tests: a tiny model built from the tests' own sentences, job directories."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TRAINING = REPO / "training"
if str(TRAINING) not in sys.path:
    sys.path.insert(0, str(TRAINING))

# Words the test datasets use; the tokenizer is trained on exactly these, so every test sentence
# tokenises without unknowns and the vocabulary (and the model) stays tiny.
CORPUS = [
    "what is the capital of france paris",
    "what is the capital of italy rome",
    "say yes please yes",
    "tell me a word no maybe blue green",
    "the movie was great wonderful lovely good",
    "the movie was awful terrible bad boring",
    "the food was okay fine average",
    "a cat sits on the mat a dog runs in the park",
    "red apple green pear yellow banana",
]


def build_tiny_model(directory: Path, corpus: Iterable[str] = CORPUS, seed: int = 0) -> Path:
    """The same builder as the local stack's tiny-local, trained on the tests' own sentences."""
    from local.tiny_model import build

    return build(directory, seed=seed, corpus=corpus)


@dataclass
class Job:
    """One training job's directories, laid out as SageMaker lays them out."""

    root: Path

    @property
    def train(self) -> Path:
        return self.root / "input" / "data" / "train"

    @property
    def test(self) -> Path:
        return self.root / "input" / "data" / "test"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_data(self) -> Path:
        return self.root / "output" / "data"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def hyperparameters_file(self) -> Path:
        return self.root / "input" / "config" / "hyperparameters.json"

    def write_rows(
        self, rows: list[dict[str, Any]], channel: str = "train", name: str = "data.jsonl"
    ) -> Path:
        directory = self.root / "input" / "data" / channel
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        return path

    def write_hyperparameters(self, values: dict[str, Any]) -> None:
        # SageMaker hands every hyperparameter over as a string; JSON-encode like the pipeline does.
        self.hyperparameters_file.parent.mkdir(parents=True, exist_ok=True)
        encoded = {
            key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()
        }
        self.hyperparameters_file.write_text(json.dumps(encoded), encoding="utf-8")

    def env(self) -> dict[str, str]:
        env = {
            "SM_CHANNEL_TRAIN": str(self.train),
            "SM_MODEL_DIR": str(self.model_dir),
            "SM_OUTPUT_DATA_DIR": str(self.output_data),
            "SM_OUTPUT_DIR": str(self.output),
            "RELAY_CHECKPOINT_DIR": str(self.checkpoints),
            "RELAY_HYPERPARAMETERS_FILE": str(self.hyperparameters_file),
        }
        if self.test.is_dir():
            env["SM_CHANNEL_TEST"] = str(self.test)
        return env

    def metric_records(self) -> list[dict[str, Any]]:
        path = self.output_data / "metrics.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
