"""OpenAI messages -> Converse `system` and `messages`, with the hygiene Bedrock needs.

Bedrock refuses conversations that start with an assistant turn, repeat a role, or hold
blank text, so: system/developer messages become `system`; tool (and legacy function)
results merge into one user turn; consecutive same-role turns merge; blank text is
dropped; a placeholder user turn opens a conversation that starts with the assistant.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from relay.capabilities.families import Family
from relay.errors import BadRequestError
from relay.protocol.chat import (
    AssistantMessage,
    Content,
    DeveloperMessage,
    FunctionMessage,
    Message,
    SystemMessage,
    ThinkingBlock,
    ToolMessage,
    UserMessage,
)
from relay.translate.bedrock.content import FetchedImage, PartConverter

Block = dict[str, Any]
OPENING_TURN = "(conversation start)"


def legacy_call_id(name: str) -> str:
    """Legacy `function_call`s carry no id; results are matched to calls by function name."""
    return f"call_{name}"


def _content(converter: PartConverter, content: Content | None, param: str) -> list[Block]:
    blocks: list[Block] = []
    if content is None:
        return blocks
    if isinstance(content, str):
        converter.text(content, blocks)
        return blocks
    for index, part in enumerate(content):
        converter.convert(part, f"{param}[{index}]", blocks)
    return blocks


def _thinking(message: AssistantMessage, family: Family, param: str) -> list[Block]:
    blocks = message.thinking_blocks
    if blocks is None and message.reasoning_content:
        blocks = [ThinkingBlock(thinking=message.reasoning_content, signature=message.reasoning_signature)]
    out: list[Block] = []
    for block in blocks or []:
        if block.type == "redacted_thinking":
            try:
                out.append({"reasoningContent": {"redactedContent": base64.b64decode(block.data or "")}})
            except (binascii.Error, ValueError) as exc:
                raise BadRequestError("redacted_thinking data must be base64", param=param) from exc
        elif block.thinking and (block.signature or not family.signed_reasoning):
            text: Block = {"text": block.thinking}
            if block.signature:
                text["signature"] = block.signature
            out.append({"reasoningContent": {"reasoningText": text}})
        # Unsigned reasoning cannot be sent to a model that verifies signatures; it is
        # model output the client echoed back, so it is left out rather than refused.
    return out


def _tool_use(call_id: str, name: str, arguments: str, param: str) -> Block:
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise BadRequestError("Tool call arguments must be a JSON object", param=param) from exc
    if not isinstance(parsed, dict):
        raise BadRequestError("Tool call arguments must be a JSON object", param=param)
    return {"toolUse": {"toolUseId": call_id, "name": name, "input": parsed}}


def _assistant(converter: PartConverter, message: AssistantMessage, param: str) -> list[Block]:
    if message.name:
        raise BadRequestError("Bedrock has no participant names; remove `name`", param=f"{param}.name")
    blocks = _thinking(message, converter.family, param)
    blocks += _content(converter, message.content, f"{param}.content")
    if message.refusal:
        converter.text(message.refusal, blocks)
    for index, call in enumerate(message.tool_calls or []):
        blocks.append(
            _tool_use(call.id, call.function.name, call.function.arguments, f"{param}.tool_calls[{index}]")
        )
    if message.function_call is not None:
        legacy = message.function_call
        blocks.append(
            _tool_use(legacy_call_id(legacy.name), legacy.name, legacy.arguments, f"{param}.function_call")
        )
    return blocks


def _tool_result(converter: PartConverter, call_id: str, content: Content | None, param: str) -> list[Block]:
    inner = _content(converter, content, f"{param}.content")
    # A tool may legitimately return nothing; Bedrock needs a non-blank block all the same.
    cleaned = [b for b in inner if "cachePoint" not in b] or [{"text": "(empty)"}]
    result: list[Block] = [{"toolResult": {"toolUseId": call_id, "content": cleaned}}]
    # A cachePoint may not sit inside a toolResult: one marked at the end goes right after it.
    if inner and "cachePoint" in inner[-1]:
        result.append(inner[-1])
    return result


def _append(turns: list[Block], role: str, blocks: list[Block]) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        previous = turns[-1]["content"]
        # Bedrock wants a user turn's toolResult blocks before its other content.
        if role == "user" and any("toolResult" in b for b in blocks):
            results = [b for b in blocks if "toolResult" in b]
            rest = [b for b in blocks if "toolResult" not in b]
            turns[-1]["content"] = [b for b in previous if "toolResult" in b] + results
            turns[-1]["content"] += [b for b in previous if "toolResult" not in b] + rest
        else:
            previous.extend(blocks)
        return
    turns.append({"role": role, "content": blocks})


def convert_messages(
    messages: list[Message], family: Family, images: Mapping[str, FetchedImage], *, cache_system: bool
) -> tuple[list[Block], list[Block]]:
    """(`system` blocks, `messages`) for Converse."""
    converter = PartConverter(family, images)
    system: list[Block] = []
    turns: list[Block] = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if isinstance(message, SystemMessage | DeveloperMessage):
            if message.name:
                raise BadRequestError(
                    "Bedrock has no participant names; remove `name`", param=f"{param}.name"
                )
            blocks = _content(converter, message.content, f"{param}.content")
            if any(not ("text" in b or "cachePoint" in b) for b in blocks):
                raise BadRequestError("System messages may hold only text", param=f"{param}.content")
            if family.system:
                system.extend(blocks)
            else:  # the family has no system prompt: it becomes the opening user text
                _append(turns, "user", [b for b in blocks if "text" in b])
        elif isinstance(message, UserMessage):
            if message.name:
                raise BadRequestError(
                    "Bedrock has no participant names; remove `name`", param=f"{param}.name"
                )
            _append(turns, "user", _content(converter, message.content, f"{param}.content"))
        elif isinstance(message, AssistantMessage):
            _append(turns, "assistant", _assistant(converter, message, param))
        elif isinstance(message, ToolMessage):
            _append(turns, "user", _tool_result(converter, message.tool_call_id, message.content, param))
        elif isinstance(message, FunctionMessage):
            _append(
                turns, "user", _tool_result(converter, legacy_call_id(message.name), message.content, param)
            )
    for turn in turns:  # a cachePoint may not open a turn
        while turn["content"] and "cachePoint" in turn["content"][0]:
            turn["content"].pop(0)
    turns = [t for t in turns if t["content"]]
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [{"text": OPENING_TURN}]})
    if cache_system and system and "cachePoint" not in system[-1]:
        converter.cache_point("cache_system_prompt", system)
    return system, turns
