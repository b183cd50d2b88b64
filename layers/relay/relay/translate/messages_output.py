"""OpenAI chat completions -> Anthropic Messages responses (pure)."""

from __future__ import annotations

import json
from typing import Any

from relay.errors import UpstreamError
from relay.protocol.chat import ChatCompletion, CompletionUsage, FinishReason
from relay.protocol.chat import ThinkingBlock as ChatThinking
from relay.protocol.messages import (
    ContentBlock,
    Message,
    RedactedThinkingBlock,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    Usage,
)

STOP_REASONS: dict[FinishReason, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def message_id(chat_id: str) -> str:
    return "msg_" + chat_id.removeprefix("chatcmpl-")


def usage_of(usage: CompletionUsage | None) -> Usage:
    """Anthropic's input_tokens exclude cache reads and writes (OpenAI's prompt_tokens include them)."""
    if usage is None:
        return Usage()
    details = usage.prompt_tokens_details
    read = (details.cached_tokens or 0) if details else 0
    write = (details.cache_write_tokens or 0) if details else 0
    return Usage(
        input_tokens=max(usage.prompt_tokens - read - write, 0),
        output_tokens=usage.completion_tokens,
        cache_creation_input_tokens=write,
        cache_read_input_tokens=read,
    )


def tool_input(arguments: str) -> dict[str, Any]:
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UpstreamError("The model returned tool arguments that are not a JSON object")
    return parsed


def from_chat(completion: ChatCompletion, model: str) -> Message:
    choice = completion.choices[0]
    message = choice.message
    content: list[ContentBlock] = []
    thinking = message.thinking_blocks
    if thinking is None and message.reasoning_content:
        thinking = [ChatThinking(thinking=message.reasoning_content, signature=message.reasoning_signature)]
    for block in thinking or []:
        if block.type == "redacted_thinking":
            content.append(RedactedThinkingBlock(data=block.data or ""))
        else:
            content.append(ThinkingBlock(thinking=block.thinking or "", signature=block.signature or ""))
    if message.content:
        content.append(TextBlock(text=message.content))
    for call in message.tool_calls or []:
        content.append(
            ToolUseBlock(id=call.id, name=call.function.name, input=tool_input(call.function.arguments))
        )
    stopped = choice.stop_sequence is not None
    return Message(
        id=message_id(completion.id),
        content=content,
        model=model,
        stop_reason="stop_sequence"
        if stopped
        else STOP_REASONS.get(choice.finish_reason or "stop", "end_turn"),
        stop_sequence=choice.stop_sequence or None,
        usage=usage_of(completion.usage),
    )
