"""What each Bedrock model family can do through Converse: data, looked up by model id prefix.

Code asks `family_of(model_id).vision` instead of testing substrings of model ids. Region
prefixes of cross-region inference profiles (`us.`, `eu.`, `apac.`, `global.` …) and
ARNs are stripped first. Application inference profile and custom model ARNs do not name
their base model, so they get `PERMISSIVE`: Relay passes every feature on and lets
Bedrock judge.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Reasoning = Literal["", "budget", "always"]

_ALL_CHOICES: frozenset[str] = frozenset({"auto", "any", "tool"})
_REGION_PREFIXES = ("us-gov.", "us.", "eu.", "apac.", "jp.", "au.", "ca.", "global.")


@dataclass(frozen=True)
class Family:
    name: str
    vision: bool = False
    documents: bool = False
    tools: bool = True
    tool_choice: frozenset[str] = frozenset({"auto"})  # Converse toolChoice kinds accepted
    streaming_tools: bool = True  # tools allowed on ConverseStream
    system: bool = True
    caching: bool = False  # cachePoint blocks in system, messages and tools
    # "budget": Claude-style `thinking.budget_tokens`; "always": reasons on every call.
    reasoning: Reasoning = ""
    signed_reasoning: bool = False  # reasoning carries a signature that must come back
    native_structured_output: bool = False  # outputConfig.textFormat json_schema
    # Where top_k goes inside additionalModelRequestFields (None: the family has no top_k).
    top_k_path: tuple[str, ...] | None = None
    # OpenAI sampling parameters the family takes natively in additionalModelRequestFields.
    native_params: frozenset[str] = frozenset()
    # Unknown request fields may go to additionalModelRequestFields (the model's own API).
    passthrough: bool = True
    # Bedrock's CountTokens API serves the family (Claude only, as of 2026).
    count_tokens: bool = False
    # The model names the stop sequence that ended it (Claude's `stop_sequence` response field).
    names_stop_sequence: bool = False
    # The most completion tokens one call may ask for (None: unknown, Bedrock judges).
    max_output_tokens: int | None = None


_CLAUDE = Family(
    "anthropic.claude",
    vision=True,
    documents=True,
    tool_choice=_ALL_CHOICES,
    caching=True,
    top_k_path=("top_k",),
    count_tokens=True,
    names_stop_sequence=True,
)
_CLAUDE_THINKING = replace(
    _CLAUDE, name="anthropic.claude-thinking", reasoning="budget", signed_reasoning=True
)
_NOVA = Family(
    "amazon.nova",
    vision=True,
    documents=True,
    tool_choice=_ALL_CHOICES,
    caching=True,
    top_k_path=("inferenceConfig", "topK"),
    # Nova validates additionalModelRequestFields strictly; only inferenceConfig is known.
    passthrough=False,
)

# Base model id prefix -> family; the longest matching prefix wins.
FAMILIES: dict[str, Family] = {
    "anthropic.claude-3-haiku": replace(_CLAUDE, max_output_tokens=4096),
    "anthropic.claude-3-5-haiku": replace(
        _CLAUDE, name="anthropic.claude-3-5-haiku", vision=False, max_output_tokens=8192
    ),
    "anthropic.claude-3-5-sonnet": replace(_CLAUDE, max_output_tokens=8192),
    "anthropic.claude-3-sonnet": replace(_CLAUDE, max_output_tokens=4096),
    "anthropic.claude-3-opus": replace(_CLAUDE, max_output_tokens=4096),
    "anthropic.claude-3-7-sonnet": _CLAUDE_THINKING,
    "anthropic.claude-sonnet-4": replace(_CLAUDE_THINKING, max_output_tokens=64000),
    "anthropic.claude-opus-4": replace(_CLAUDE_THINKING, max_output_tokens=32000),
    "anthropic.claude-sonnet-4-5": replace(_CLAUDE_THINKING, native_structured_output=True),
    "anthropic.claude-haiku-4-5": replace(_CLAUDE_THINKING, native_structured_output=True),
    "anthropic.claude-opus-4-5": replace(_CLAUDE_THINKING, native_structured_output=True),
    "amazon.nova-micro": replace(_NOVA, name="amazon.nova-micro", vision=False, documents=False),
    "amazon.nova": _NOVA,
    "meta.llama": Family("meta.llama", streaming_tools=False),
    "meta.llama3-2-11b": Family("meta.llama-vision", vision=True, streaming_tools=False),
    "meta.llama3-2-90b": Family("meta.llama-vision", vision=True, streaming_tools=False),
    "mistral.": Family(
        "mistral", documents=True, tool_choice=frozenset({"auto", "any"}), top_k_path=("top_k",)
    ),
    "deepseek.": Family("deepseek", tools=False, reasoning="always"),
    "cohere.command-r": Family(
        "cohere.command-r",
        documents=True,
        top_k_path=("k",),
        native_params=frozenset({"seed", "frequency_penalty", "presence_penalty"}),
    ),
}
_BY_LENGTH = sorted(FAMILIES.items(), key=lambda item: len(item[0]), reverse=True)

PERMISSIVE = Family(
    "unknown",
    vision=True,
    documents=True,
    tool_choice=_ALL_CHOICES,
    caching=True,
    count_tokens=True,
)


def base_model_id(model_id: str) -> str | None:
    """The foundation model id behind an id, profile id or ARN; None if the id does not say."""
    if model_id.startswith("arn:"):
        kind, _, name = model_id.split(":", 5)[-1].partition("/")
        if kind not in ("foundation-model", "inference-profile"):
            return None
        model_id = name
    for prefix in _REGION_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :]
    return model_id


def family_of(model_id: str) -> Family:
    base = base_model_id(model_id)
    if base is None:
        return PERMISSIVE
    for prefix, family in _BY_LENGTH:
        if base.startswith(prefix):
            return family
    return PERMISSIVE
