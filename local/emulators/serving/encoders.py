"""Classification/regression and embedding checkpoints on CPU (serving process side).

The classifier answers as the Hugging Face inference toolkit's text-classification pipeline does
(`[{label, score}]` sorted by score, one list per input for a batch), with the labels the training
job saved in `labels.json`. The embedding model answers TEI's /embed shape: one vector per input,
mean-pooled as the trainer pooled (`relay_model.json` says `pooling: mean`), L2-normalised unless
`normalize` is false.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

from local.emulators.serving.generation import ContainerError, is_adapter

LABELS_FILE = "labels.json"


def _inputs(body: dict[str, Any]) -> tuple[list[Any], bool]:
    """Texts, or token id lists (TEI takes both); the flag says whether a batch was sent."""
    inputs = body.get("inputs")
    if isinstance(inputs, str) and inputs:
        return [inputs], False
    if isinstance(inputs, list) and inputs and all(isinstance(i, int) for i in inputs):
        return [inputs], False
    if isinstance(inputs, list) and inputs and all(isinstance(i, str) for i in inputs):
        return list(inputs), True
    if isinstance(inputs, list) and inputs and all(_is_ids(i) for i in inputs):
        return list(inputs), True
    raise ContainerError(422, "`inputs` must be a non-empty string, list of strings, or token id lists")


def _is_ids(item: Any) -> bool:
    return isinstance(item, list) and bool(item) and all(isinstance(t, int) for t in item)


def _encode(tokenizer: Any, items: list[Any]) -> Any:
    if isinstance(items[0], str):
        return tokenizer(items, padding=True, truncation=True, return_tensors="pt")
    if any(not 0 <= t < len(tokenizer) for ids in items for t in ids):
        raise ContainerError(422, f"token ids must be between 0 and {len(tokenizer) - 1}")
    return tokenizer.pad({"input_ids": items}, return_tensors="pt")


def _load(loader: Any, model_dir: Path, base_dir: Path | None, **kwargs: Any) -> Any:
    if not is_adapter(model_dir):
        return loader.from_pretrained(str(model_dir), local_files_only=True, **kwargs)
    if base_dir is None:
        raise ValueError(f"{model_dir} holds a LoRA adapter but no base model weights were given")
    from peft import PeftModel

    base = loader.from_pretrained(str(base_dir), local_files_only=True, **kwargs)
    return PeftModel.from_pretrained(base, str(model_dir)).merge_and_unload()


class Classifier:
    def __init__(self, model_dir: Path, base_dir: Path | None) -> None:
        torch.set_num_threads(1)
        saved = model_dir / LABELS_FILE
        document = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else {}
        self.labels: list[str] = list(document.get("labels") or [])
        self.regression = document.get("problem_type") == "regression"
        head: dict[str, Any] = {"num_labels": 1 if self.regression else len(self.labels)}
        if self.labels:
            head["id2label"] = dict(enumerate(self.labels))
            head["label2id"] = {label: index for index, label in enumerate(self.labels)}
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.model = _load(AutoModelForSequenceClassification, model_dir, base_dir, **head).eval()
        if not self.labels and not self.regression:
            names = self.model.config.id2label or {}
            self.labels = [str(names[i]) for i in sorted(names)]
        if self.model.config.pad_token_id is None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Any:
        texts, batch = _inputs(body)
        encoded = _encode(self.tokenizer, texts)
        with self.lock, torch.no_grad():
            logits = self.model(**encoded).logits.float()
        rows = []
        for row in logits:
            if self.regression:
                rows.append([{"label": "score", "score": float(row[0])}])
                continue
            scores = row if body.get("raw_scores") else torch.softmax(row, dim=-1)
            ranked = sorted(zip(self.labels, scores.tolist(), strict=True), key=lambda pair: -pair[1])
            rows.append([{"label": label, "score": round(score, 6)} for label, score in ranked])
        return rows if batch else rows[0]


class Embedder:
    def __init__(self, model_dir: Path, base_dir: Path | None) -> None:
        torch.set_num_threads(1)
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        self.model = _load(AutoModel, model_dir, base_dir).eval()
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Any:
        texts, _ = _inputs(body)
        encoded = _encode(self.tokenizer, texts)
        with self.lock, torch.no_grad():
            hidden = self.model(**encoded).last_hidden_state.float()
        mask = encoded["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        if body.get("normalize", True):
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.tolist()
