"""Reinforcement training lines (OpenAI's shape) as the prompt/completion rows Relay's GRPO trains on.

A line is `{"messages": [...], "<field>": "..."}`: the messages are the prompt (an optional
system or developer message, then one user message; OpenAI's lines end before the answer), the
field the grader names is the expected answer. Problems come back numbered by line, as the
dataset validator reports them.
"""

from __future__ import annotations

import json
from typing import Any

from relay.services.datasets.lines import HashingLines
from relay.services.datasets.validation import ValidationReport, json_lines, text_lines


def _row(line: dict[str, Any], field: str) -> dict[str, str] | str:
    messages = line.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    system, user = None, None
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content.strip():
            return f"messages[{index}].content must be a non-empty string"
        if role in ("system", "developer") and index == 0:
            system = content
        elif role == "user" and user is None:
            user = content
        else:
            return (
                f"messages[{index}] ({role}): Relay's GRPO trains on one prompt, so a line holds an "
                "optional system or developer message and then one user message"
            )
    if user is None:
        return "'messages' needs a user message"
    answer = line.get(field)
    if not isinstance(answer, str):
        return f"'{field}' (the grader's reference) must be a string"
    row = {"prompt": user, "completion": answer}
    return {**row, "system": system} if system else row


def to_prompt_completion(content: bytes, field: str) -> tuple[bytes, ValidationReport]:
    """The rows as JSONL, and a report whose problems name the offending lines."""
    report = ValidationReport(format="prompt_completion")
    rows = []
    for number, line in json_lines(text_lines(HashingLines([content]), report), report):
        row = _row(line, field) if isinstance(line, dict) else "expected a JSON object"
        if isinstance(row, str):
            report.add(number, row)
        else:
            rows.append(row)
            report.rows += 1
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(), report
