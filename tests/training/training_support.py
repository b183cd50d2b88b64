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
SPECIAL_TOKENS = ["<pad>", "<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|> {{ message['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def build_tiny_model(directory: Path, corpus: Iterable[str] = CORPUS, seed: int = 0) -> Path:
    """A word-level tokenizer with a chat template and a 2-layer, 32-wide Llama, saved to directory."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.train_from_iterator(list(corpus), trainers.WordLevelTrainer(special_tokens=SPECIAL_TOKENS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(str(directory))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(str(directory))
    return directory


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
