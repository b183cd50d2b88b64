"""OpenAI's reinforcement graders mapped onto Relay's testing functions (GRPO's rewards).

Only graders that compare the sampled answer with one field of the training line map: a
`string_check` with `eq` (exact_match, surrounding whitespace ignored) or `ilike`
(contains_match: case folded, as whole words), and a `text_similarity` whose metric Relay has.
Anything else — model graders, Python code, multigraders, other operations and metrics — is a
400 naming what cannot be honoured, never a silently different reward.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from relay.errors import BadRequestError

PARAM = "method.reinforcement.grader"
STRING_CHECK = {"eq": "exact_match", "ilike": "contains_match"}
TEXT_SIMILARITY = {"rouge_l": "rouge_l", "bleu": "bleu", "fuzzy_match": "sequence_similarity"}
# Per grader type: the field that picks the comparison, its name in messages, Relay's testing
# function for each value, and how a refusal lists the values.
_GRADERS: dict[str, tuple[str, str, dict[str, str], str]] = {
    "string_check": ("operation", "operation", STRING_CHECK, " or "),
    "text_similarity": ("evaluation_metric", "metric", TEXT_SIMILARITY, ", "),
}
_SAMPLE = re.compile(r"^\{\{\s*sample\.output_text\s*\}\}$")
_ITEM = re.compile(r"^\{\{\s*item\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


@dataclass(frozen=True)
class Reward:
    function: str  # the testing function GRPO rewards with
    reference_field: str  # the training line's field holding the expected answer


def _refuse(message: str, field: str = "") -> BadRequestError:
    return BadRequestError(message, param=f"{PARAM}.{field}" if field else PARAM)


def reward_of(grader: Any) -> Reward:
    if not isinstance(grader, dict):
        raise _refuse("method.reinforcement.grader is required: a string_check or text_similarity grader")
    kind = grader.get("type")
    found = _GRADERS.get(kind) if isinstance(kind, str) else None
    if found is None:
        raise _refuse(
            f"grader type '{kind}' cannot be honoured: Relay rewards GRPO with its testing functions, "
            "so only string_check and text_similarity graders map onto them",
            "type",
        )
    field, noun, functions, joiner = found
    value = grader.get(field)
    function = functions.get(str(value))
    if function is None:
        raise _refuse(
            f"{kind} {noun} '{value}' has no Relay testing function; use {joiner.join(functions)}", field
        )
    if not _SAMPLE.match(str(grader.get("input", ""))):
        raise _refuse("the grader's input must be {{sample.output_text}} (the sampled answer)", "input")
    reference = _ITEM.match(str(grader.get("reference", "")))
    if reference is None:
        raise _refuse("the grader's reference must be one field of the line, {{item.<field>}}", "reference")
    return Reward(function=function, reference_field=reference.group(1))
