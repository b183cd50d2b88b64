"""Dataset files from a channel directory, turned into the rows each trainer expects.

Standard library only. Errors name the file and line so a user can fix the dataset. Splitting,
downsampling and rebalancing happen before the job, in the pipeline (`relay.pipeline.data`).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIXES = (".jsonl", ".json", ".csv")
EXPECTED_KEYS = ("expected_output", "completion", "answer", "response")
ROLES = ("system", "user", "assistant", "tool")


class DataError(ValueError):
    """A dataset the job cannot train on; the message names file and line."""


@dataclass(frozen=True)
class Record:
    """One dataset row and where it came from (`file:line`)."""

    source: str
    data: dict[str, Any]

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{self.source}: {key!r} must be a non-empty string")
        return value


def _read_json_file(path: Path) -> list[Record]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".json" and text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise DataError(f"{path.name}: not valid JSON ({exc})") from exc
        numbered = [(f"{path.name}[{index}]", row) for index, row in enumerate(rows)]
    else:
        numbered = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                numbered.append((f"{path.name}:{number}", json.loads(line)))
            except ValueError as exc:
                raise DataError(f"{path.name}:{number}: not valid JSON ({exc.args[0]})") from exc
    records = []
    for source, row in numbered:
        if not isinstance(row, dict):
            raise DataError(f"{source}: each row must be a JSON object")
        records.append(Record(source, row))
    return records


def _read_csv_file(path: Path) -> list[Record]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        # Line 1 is the header, so the first row is line 2.
        return [
            Record(f"{path.name}:{number}", dict(row)) for number, row in enumerate(csv.DictReader(handle), 2)
        ]


def read_records(directory: Path) -> list[Record]:
    """Every row of the .jsonl, .json and .csv files in directory (sorted by file name)."""
    if not directory.is_dir():
        raise DataError(f"data channel {directory} does not exist")
    files = sorted(path for path in directory.iterdir() if path.is_file() and path.suffix in SUFFIXES)
    if not files:
        raise DataError(f"no {', '.join(SUFFIXES)} files in {directory}")
    records: list[Record] = []
    for path in files:
        records.extend(_read_csv_file(path) if path.suffix == ".csv" else _read_json_file(path))
    if not records:
        raise DataError(f"the files in {directory} hold no rows")
    return records


def _messages(record: Record) -> list[dict[str, str]]:
    messages = record.data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{record.source}: 'messages' must be a non-empty list")
    clean = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise DataError(f"{record.source}: messages[{index}] needs a role in {list(ROLES)}")
        if not isinstance(message.get("content"), str):
            raise DataError(f"{record.source}: messages[{index}].content must be a string")
        clean.append({"role": message["role"], "content": message["content"]})
    return clean


def _split_chat(record: Record) -> tuple[list[dict[str, str]], str]:
    """Conversation before the final assistant turn, and that turn's text."""
    messages = _messages(record)
    if messages[-1]["role"] != "assistant" or len(messages) < 2:
        raise DataError(f"{record.source}: a conversation must end with an assistant message after a prompt")
    return messages[:-1], messages[-1]["content"]


def _user_prompt(record: Record, key: str = "prompt") -> list[dict[str, str]]:
    prompt = [{"role": "user", "content": record.text(key)}]
    system = record.data.get("system")
    return [{"role": "system", "content": system}, *prompt] if isinstance(system, str) and system else prompt


def sft_examples(records: list[Record], chat: bool) -> list[dict[str, Any]]:
    """Prompt-completion rows for SFTTrainer: conversational when the tokenizer has a chat template.

    Chat rows train on their final assistant turn; earlier turns are context.
    """
    examples: list[dict[str, Any]] = []
    for record in records:
        if "messages" in record.data:
            if not chat:
                raise DataError(
                    f"{record.source}: chat rows need a base model whose tokenizer has a chat template"
                )
            prompt, answer = _split_chat(record)
            examples.append({"prompt": prompt, "completion": [{"role": "assistant", "content": answer}]})
        elif "prompt" in record.data and "completion" in record.data:
            completion = record.text("completion")
            if chat:
                assistant = [{"role": "assistant", "content": completion}]
                examples.append({"prompt": _user_prompt(record), "completion": assistant})
            else:
                examples.append({"prompt": record.text("prompt"), "completion": completion})
        else:
            raise DataError(f"{record.source}: expected {{'messages': [...]}} or {{'prompt', 'completion'}}")
    return examples


def _grpo_example(record: Record, chat: bool) -> dict[str, Any]:
    if "messages" in record.data:
        if not chat:
            raise DataError(
                f"{record.source}: chat rows need a base model whose tokenizer has a chat template"
            )
        conversation, answer = _split_chat(record)
        return {"prompt": conversation, "expected_output": answer, "input_text": conversation[-1]["content"]}
    key = next((name for name in EXPECTED_KEYS if name in record.data), None)
    if "prompt" not in record.data or key is None:
        raise DataError(f"{record.source}: expected 'prompt' and one of {list(EXPECTED_KEYS)}")
    expected = record.data[key]
    if not isinstance(expected, str):
        expected = json.dumps(expected)  # structured answers are compared as JSON text
    text = record.text("prompt")
    return {"prompt": _user_prompt(record) if chat else text, "expected_output": expected, "input_text": text}


def grpo_examples(records: list[Record], chat: bool) -> list[dict[str, Any]]:
    """Rows with `prompt`, `expected_output` and `input_text` (the prompt as plain text) for GRPO."""
    return [_grpo_example(record, chat) for record in records]


def labelled_examples(records: list[Record], regression: bool) -> list[tuple[str, Any]]:
    """(text, label) pairs; regression labels are floats, classification labels strings."""
    pairs: list[tuple[str, Any]] = []
    for record in records:
        text = record.text("text")
        # Regression rows name their target `score` (the dataset format); `label` also works.
        label = record.data.get("score", record.data.get("label")) if regression else record.data.get("label")
        if label is None or label == "":
            raise DataError(f"{record.source}: missing '{'score' if regression else 'label'}'")
        if regression:
            try:
                pairs.append((text, float(label)))
            except (TypeError, ValueError) as exc:
                raise DataError(f"{record.source}: regression label {label!r} is not a number") from exc
        elif isinstance(label, str | int) and not isinstance(label, bool):
            pairs.append((text, str(label)))
        else:
            raise DataError(f"{record.source}: classification label {label!r} must be a string or integer")
    return pairs


def pair_examples(records: list[Record]) -> list[dict[str, str]]:
    """{'anchor', 'positive'} rows, plus 'negative' when every row has one."""
    with_negative = all("negative" in record.data for record in records)
    keys = ("anchor", "positive", "negative") if with_negative else ("anchor", "positive")
    return [{key: record.text(key) for key in keys} for record in records]


def label_names(labels: list[str]) -> list[str]:
    """Distinct labels in a stable order: numerically when all are integers, else alphabetically."""
    distinct = set(labels)
    if all(label.lstrip("-").isdigit() for label in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)
