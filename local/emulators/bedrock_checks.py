"""Request validation for the emulated Converse API, with Bedrock's own error wording.

Each emulated model family has the traits Bedrock enforces (`Traits`); a request that
Bedrock would refuse raises `Invalid` (answered as ValidationException, HTTP 400).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from local.emulators.catalog import FOUNDATION_MODELS, PROFILES

# Signs emitted reasoning so a modified or invented thinking block is refused, as Claude does.
_SIGNING_KEY = b"relay-emulator-thinking"


class Invalid(Exception):
    """A ValidationException Bedrock would answer."""


@dataclass(frozen=True)
class Traits:
    vision: bool = False
    documents: bool = False
    tools: bool = True
    tool_choice: frozenset[str] = frozenset({"auto"})
    stream_tools: bool = True
    system: bool = True
    caching: bool = False
    reasoning: str = ""  # "budget": Claude `thinking`; "always": reasons on every call
    signed_reasoning: bool = False
    structured_output: bool = False
    extra_fields: frozenset[str] = frozenset()  # accepted additionalModelRequestFields keys


_ALL_CHOICES = frozenset({"auto", "any", "tool"})
_CLAUDE_FIELDS = frozenset({"top_k", "anthropic_beta", "anthropic_version"})
# Base model id prefix -> traits, as Bedrock's Converse feature table lists them.
TRAITS: list[tuple[str, Traits]] = [
    ("anthropic.claude-3-5-haiku", Traits(documents=True, tool_choice=_ALL_CHOICES, caching=True,
                                          extra_fields=_CLAUDE_FIELDS)),
    ("anthropic.claude", Traits(vision=True, documents=True, tool_choice=_ALL_CHOICES, caching=True,
                                reasoning="budget", signed_reasoning=True,
                                extra_fields=_CLAUDE_FIELDS | {"thinking"})),
    ("amazon.nova", Traits(vision=True, documents=True, tool_choice=_ALL_CHOICES, caching=True,
                           extra_fields=frozenset({"inferenceConfig"}))),
    ("meta.llama", Traits(stream_tools=False, extra_fields=frozenset({"top_k", "max_gen_len"}))),
    ("mistral.", Traits(documents=True, tool_choice=frozenset({"auto", "any"}),
                        extra_fields=frozenset({"top_k", "safe_prompt"}))),
    ("deepseek.", Traits(tools=False, reasoning="always", extra_fields=frozenset())),
    ("cohere.command", Traits(documents=True, extra_fields=frozenset(
        {"k", "seed", "frequency_penalty", "presence_penalty", "return_prompt"}))),
]  # fmt: skip
# Application inference profiles are opaque; the emulator routes them to Nova Lite.
APPLICATION_PROFILE_MODEL = "amazon.nova-lite-v1:0"

_MODELS = {row[0]: row for row in FOUNDATION_MODELS}
_PROFILES = {row[0]: row[2] for row in PROFILES}


def sign(text: str) -> str:
    digest = hmac.new(_SIGNING_KEY, text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def resolve_model(raw_id: str) -> tuple[str, Traits]:
    """The base model a modelId reaches, and its traits; Invalid as Bedrock words it."""
    model_id = unquote(raw_id)
    via_profile = False
    if model_id.startswith("arn:"):
        resource = model_id.split(":", 5)[-1]
        kind, _, name = resource.partition("/")
        if kind == "application-inference-profile":
            model_id, via_profile = APPLICATION_PROFILE_MODEL, True
        elif kind in ("inference-profile", "foundation-model"):
            model_id = name
        else:
            raise Invalid("The provided model identifier is invalid.")
    if model_id in _PROFILES:
        model_id, via_profile = _PROFILES[model_id], True
    row = _MODELS.get(model_id)
    if row is None:
        raise Invalid("The provided model identifier is invalid.")
    if row[3] != "TEXT" or ".rerank" in model_id or model_id.startswith(("cohere.rerank", "amazon.rerank")):
        raise Invalid(
            "This action doesn't support the model that you provided. Try again with a supported text model."
        )
    if not via_profile and "ON_DEMAND" not in row[4]:
        raise Invalid(
            f"Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your "
            "request with the ID or ARN of an inference profile that contains this model."
        )
    for prefix, traits in TRAITS:
        if model_id.startswith(prefix):
            return model_id, traits
    return model_id, Traits()


def counting_model(raw_id: str) -> tuple[str, Traits]:
    """The model CountTokens counts for: a bare foundation model id (or its ARN) of a Claude
    model, as on Bedrock; inference profiles and other models are refused."""
    model_id = unquote(raw_id)
    if model_id.startswith("arn:") and ":foundation-model/" in model_id:
        model_id = model_id.rsplit("/", 1)[-1]
    if model_id.startswith("arn:") or model_id in _PROFILES or not model_id.startswith("anthropic."):
        raise Invalid("The provided model doesn't support counting tokens.")
    if model_id not in _MODELS:
        raise Invalid("The provided model identifier is invalid.")
    for prefix, traits in TRAITS:
        if model_id.startswith(prefix):
            return model_id, traits
    return model_id, Traits()


def _check_block(block: dict[str, Any], where: str, traits: Traits, has_tools: bool) -> None:
    if len(block) != 1:
        raise Invalid(f"The content block at {where} must set exactly one member.")
    kind, value = next(iter(block.items()))
    if kind == "text" and not str(value).strip():
        raise Invalid(f"The text field in the ContentBlock object at {where} is blank. "
                      "Add text to the text field, and try again.")  # fmt: skip
    elif kind == "image" and not traits.vision:
        raise Invalid("This model doesn't support the image content block that you provided. "
                      "Try again with a supported model.")  # fmt: skip
    elif kind == "document" and not traits.documents:
        raise Invalid("This model doesn't support documents. Try again with a supported model.")
    elif kind == "cachePoint" and not traits.caching:
        raise Invalid("This model doesn't support prompt caching. Remove the cachePoint and try again.")
    elif kind in ("toolUse", "toolResult") and not has_tools:
        raise Invalid(
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        )


def _check_thinking(body: dict[str, Any], traits: Traits) -> int:
    """The thinking budget asked for (0 if none), after Claude's rules on it."""
    thinking = (body.get("additionalModelRequestFields") or {}).get("thinking")
    if not thinking or thinking.get("type") != "enabled":
        return 0
    budget = int(thinking.get("budget_tokens") or 0)
    if budget < 1024:
        raise Invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens", 4096)
    if max_tokens <= budget:
        raise Invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
    choice = (body.get("toolConfig") or {}).get("toolChoice") or {}
    if "any" in choice or "tool" in choice:
        raise Invalid("Thinking may not be enabled when tool_choice forces tool use.")
    return budget


def _check_reasoning_blocks(messages: list[dict[str, Any]], thinking: bool) -> None:
    for index, message in enumerate(messages):
        for block in message["content"]:
            reasoning = block.get("reasoningContent", {}).get("reasoningText")
            if reasoning is not None and not hmac.compare_digest(
                str(reasoning.get("signature", "")), sign(reasoning.get("text", ""))
            ):
                raise Invalid(f"messages.{index}.content: Invalid `signature` in `thinking` block")
    # Claude continues a tool-use turn only from its own signed reasoning.
    if thinking and len(messages) >= 2 and any("toolResult" in b for b in messages[-1]["content"]):
        previous = messages[-2]["content"]
        if previous and "reasoningContent" not in previous[0]:
            raise Invalid("messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
                          "`tool_use`. When `thinking` is enabled, a final `assistant` message must start "
                          "with a thinking block.")  # fmt: skip


def validate(body: dict[str, Any], traits: Traits, *, stream: bool) -> int:
    """Raise Invalid as Bedrock would; returns the thinking budget (0 when thinking is off)."""
    messages = body.get("messages") or []
    if not messages:
        raise Invalid("The messages field is required and must not be empty.")
    tool_config = body.get("toolConfig")
    if messages[0].get("role") != "user":
        raise Invalid("A conversation must start with a user message. Try again with a conversation "
                      "that starts with a user message.")  # fmt: skip
    for index, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            raise Invalid(f"messages.{index}.role: the role must be user or assistant.")
        if index and message["role"] == messages[index - 1]["role"]:
            raise Invalid("A conversation must alternate between user and assistant roles. Make sure the "
                          "conversation alternates between user and assistant roles and try again.")  # fmt: skip
        if not message.get("content"):
            raise Invalid(f"messages.{index}.content must contain at least one content block.")
        for position, block in enumerate(message["content"]):
            _check_block(block, f"messages.{index}.content.{position}", traits, tool_config is not None)
    for position, block in enumerate(body.get("system") or []):
        if not traits.system:
            raise Invalid("This model doesn't support system messages. Try again with a supported model.")
        _check_block(block, f"system.{position}", traits, True)
    if tool_config is not None:
        if not traits.tools:
            raise Invalid("This model doesn't support tool use.")
        if stream and not traits.stream_tools:
            raise Invalid("This model doesn't support tool use in streaming mode.")
        for kind in tool_config.get("toolChoice") or {}:
            if kind not in traits.tool_choice:
                raise Invalid(f"This model doesn't support the toolConfig.toolChoice.{kind} field. "
                              f"Remove toolConfig.toolChoice.{kind} and try again.")  # fmt: skip
        for tool in tool_config.get("tools") or []:
            if "cachePoint" in tool and not traits.caching:
                raise Invalid(
                    "This model doesn't support prompt caching. Remove the cachePoint and try again."
                )
    extra = body.get("additionalModelRequestFields") or {}
    unknown = sorted(set(extra) - traits.extra_fields)
    if unknown:
        raise Invalid(f"Malformed input request: #: extraneous key [{unknown[0]}] is not permitted, "
                      "please reformat your input and try again.")  # fmt: skip
    if body.get("outputConfig") is not None and not traits.structured_output:
        raise Invalid("This model doesn't support structured output (outputConfig.textFormat).")
    config = body.get("inferenceConfig") or {}
    if "temperature" in config and not 0 <= config["temperature"] <= 1:
        raise Invalid("inferenceConfig.temperature: must be between 0 and 1.")
    budget = _check_thinking(body, traits) if traits.reasoning == "budget" else 0
    if budget and (("temperature" in config and config["temperature"] != 1) or "top_k" in extra):
        raise Invalid("`temperature` may only be set to 1 and `top_k` unset when thinking is enabled.")
    _check_reasoning_blocks(messages, budget > 0)
    guardrail = body.get("guardrailConfig")
    if guardrail is not None and not guardrail.get("guardrailIdentifier"):
        raise Invalid("guardrailConfig.guardrailIdentifier must not be empty.")
    return budget
