"""Converse response -> OpenAI ChatCompletion (pure)."""

from __future__ import annotations

import base64
import json
from typing import Any

from relay.protocol.chat import (
    ChatCompletion,
    ChatCompletionMessage,
    Choice,
    CompletionUsage,
    FinishReason,
    FunctionCall,
    PromptTokensDetails,
    ThinkingBlock,
    ToolCall,
)
from relay.translate.bedrock.chat import ResponseOptions

FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def finish_reason(stop_reason: str | None, options: ResponseOptions, *, called_tools: bool) -> FinishReason:
    if options.structured_tool is not None and stop_reason == "tool_use":
        return "stop"  # the forced tool was the answer itself
    reason = FINISH_REASONS.get(stop_reason or "", "stop")
    if reason == "tool_calls" and options.legacy_functions:
        return "function_call"
    if reason == "tool_calls" and not called_tools:
        return "stop"
    return reason


def matched_stop(
    stop_reason: str | None, fields: dict[str, Any] | None, options: ResponseOptions
) -> str | None:
    """The stop sequence that ended the answer ("" if one did but it is not known which), else None."""
    if stop_reason != "stop_sequence":
        return None
    named = (fields or {}).get("stop_sequence")
    if isinstance(named, str):
        return named
    return options.stop_sequences[0] if len(options.stop_sequences) == 1 else ""


def usage_from(usage: dict[str, Any] | None) -> CompletionUsage | None:
    """OpenAI usage: prompt_tokens include cache reads and writes (Bedrock's inputTokens do not)."""
    if not usage:
        return None
    read = int(usage.get("cacheReadInputTokens") or 0)
    write = int(usage.get("cacheWriteInputTokens") or 0)
    prompt = int(usage.get("inputTokens") or 0) + read + write
    completion = int(usage.get("outputTokens") or 0)
    details = None
    if "cacheReadInputTokens" in usage or "cacheWriteInputTokens" in usage:
        details = PromptTokensDetails(cached_tokens=read, cache_write_tokens=write)
    return CompletionUsage(
        completion_tokens=completion,
        prompt_tokens=prompt,
        total_tokens=prompt + completion,
        prompt_tokens_details=details,
    )


def message_from(content: list[dict[str, Any]], options: ResponseOptions) -> ChatCompletionMessage:
    texts: list[str] = []
    calls: list[ToolCall] = []
    thinking: list[ThinkingBlock] = []
    structured: str | None = None
    for block in content:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            arguments = json.dumps(use.get("input") or {}, ensure_ascii=False)
            if use["name"] == options.structured_tool:
                structured = arguments
            else:
                calls.append(
                    ToolCall(
                        id=use["toolUseId"], function=FunctionCall(name=use["name"], arguments=arguments)
                    )
                )
        elif "reasoningContent" in block:
            reasoning = block["reasoningContent"]
            if "reasoningText" in reasoning:
                text = reasoning["reasoningText"]
                thinking.append(ThinkingBlock(thinking=text.get("text", ""), signature=text.get("signature")))
            elif "redactedContent" in reasoning:
                data = base64.b64encode(reasoning["redactedContent"]).decode()
                thinking.append(ThinkingBlock(type="redacted_thinking", data=data))
    if options.single_tool_call:
        calls = calls[:1]
    message = ChatCompletionMessage(content="".join(texts) if texts else None)
    if structured is not None:
        message.content = structured
    if calls and options.legacy_functions:
        message.function_call = calls[0].function
    elif calls:
        message.tool_calls = calls
    visible = [t for t in thinking if t.type == "thinking"]
    if visible:
        message.reasoning_content = "".join(t.thinking or "" for t in visible)
        message.reasoning_signature = visible[-1].signature
    if thinking:
        message.thinking_blocks = thinking
    return message


def from_converse(
    response: dict[str, Any], options: ResponseOptions, *, id: str, index: int = 0
) -> ChatCompletion:
    content = response.get("output", {}).get("message", {}).get("content", [])
    message = message_from(content, options)
    called = bool(message.tool_calls or message.function_call)
    # Converse reports no separate reasoning-token count (they are inside outputTokens), so
    # completion_tokens_details is left out rather than filled with an estimate.
    usage = usage_from(response.get("usage"))
    choice = Choice(
        finish_reason=finish_reason(response.get("stopReason"), options, called_tools=called),
        index=index,
        message=message,
        stop_sequence=matched_stop(
            response.get("stopReason"), response.get("additionalModelResponseFields"), options
        ),
    )
    return ChatCompletion(id=id, choices=[choice], model=options.model, usage=usage)
