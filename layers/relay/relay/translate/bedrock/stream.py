"""ConverseStream events -> OpenAI ChatCompletionChunks, with the state passed explicitly.

Tool calls get dense zero-based `index`es in the order they start (Bedrock's
contentBlockIndex counts text and reasoning blocks too). A forced structured-output
tool streams its input as `content`. With `include_usage`, the metadata event becomes
the final chunk with empty `choices`, as OpenAI sends it.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any

from relay.protocol.chat import (
    ChatCompletionChunk,
    ChoiceDelta,
    ChoiceDeltaFunctionCall,
    ChoiceDeltaToolCall,
    ChunkChoice,
    CompletionUsage,
    FinishReason,
)
from relay.translate.bedrock.chat import ResponseOptions
from relay.translate.bedrock.response import finish_reason, matched_stop, usage_from

_SKIP = -1
_STRUCTURED = -2


@dataclass
class StreamState:
    id: str
    options: ResponseOptions
    index: int = 0  # the choice index (n > 1 runs several streams)
    emit_usage: bool = True  # False when a caller sums usage over several streams
    created: int = field(default_factory=lambda: int(time.time()))
    tools: dict[int, int] = field(default_factory=dict)  # contentBlockIndex -> tool index or marker
    tool_count: int = 0
    finish: FinishReason | None = None
    usage: CompletionUsage | None = None


def _chunk(state: StreamState, delta: ChoiceDelta, finish: FinishReason | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk(
        id=state.id,
        choices=[ChunkChoice(delta=delta, finish_reason=finish, index=state.index)],
        created=state.created,
        model=state.options.model,
    )


def _tool_start(start: dict[str, Any], block: int, state: StreamState) -> list[ChatCompletionChunk]:
    options = state.options
    if start["name"] == options.structured_tool:
        state.tools[block] = _STRUCTURED
        return []
    if options.single_tool_call and state.tool_count >= 1:
        state.tools[block] = _SKIP
        return []
    index = state.tools[block] = state.tool_count
    state.tool_count += 1
    if options.legacy_functions:
        return [
            _chunk(
                state, ChoiceDelta(function_call=ChoiceDeltaFunctionCall(name=start["name"], arguments=""))
            )
        ]
    call = ChoiceDeltaToolCall(
        index=index,
        id=start["toolUseId"],
        type="function",
        function=ChoiceDeltaFunctionCall(name=start["name"], arguments=""),
    )
    return [_chunk(state, ChoiceDelta(tool_calls=[call]))]


def _delta(delta: dict[str, Any], block: int, state: StreamState) -> list[ChatCompletionChunk]:
    if "text" in delta:
        return [_chunk(state, ChoiceDelta(content=delta["text"]))]
    if "toolUse" in delta:
        piece = delta["toolUse"].get("input", "")
        marker = state.tools.get(block, _SKIP)
        if marker == _STRUCTURED:
            return [_chunk(state, ChoiceDelta(content=piece))]
        if marker == _SKIP or not piece:
            return []
        if state.options.legacy_functions:
            return [_chunk(state, ChoiceDelta(function_call=ChoiceDeltaFunctionCall(arguments=piece)))]
        call = ChoiceDeltaToolCall(index=marker, function=ChoiceDeltaFunctionCall(arguments=piece))
        return [_chunk(state, ChoiceDelta(tool_calls=[call]))]
    if "reasoningContent" in delta:
        reasoning = delta["reasoningContent"]
        if "text" in reasoning:
            return [_chunk(state, ChoiceDelta(reasoning_content=reasoning["text"]))]
        if "signature" in reasoning:
            return [_chunk(state, ChoiceDelta(reasoning_signature=reasoning["signature"]))]
        if "redactedContent" in reasoning:
            data = base64.b64encode(reasoning["redactedContent"]).decode()
            return [_chunk(state, ChoiceDelta(redacted_reasoning=data))]
    # Citations have no place in an OpenAI delta.
    return []


def converse_event_to_chunks(event: dict[str, Any], state: StreamState) -> list[ChatCompletionChunk]:
    """The chunks (possibly none) one ConverseStream event becomes."""
    if "contentBlockDelta" in event:  # by far the most frequent event: test it first
        body = event["contentBlockDelta"]
        return _delta(body["delta"], body["contentBlockIndex"], state)
    if "messageStart" in event:
        return [_chunk(state, ChoiceDelta(role="assistant", content=""))]
    if "contentBlockStart" in event:
        body = event["contentBlockStart"]
        start = body.get("start", {})
        return _tool_start(start["toolUse"], body["contentBlockIndex"], state) if "toolUse" in start else []
    if "messageStop" in event:
        called = any(marker >= 0 for marker in state.tools.values())
        stop = event["messageStop"]
        state.finish = finish_reason(stop.get("stopReason"), state.options, called_tools=called)
        chunk = _chunk(state, ChoiceDelta(), state.finish)
        chunk.choices[0].stop_sequence = matched_stop(
            stop.get("stopReason"), stop.get("additionalModelResponseFields"), state.options
        )
        return [chunk]
    if "metadata" in event:
        state.usage = usage_from(event["metadata"].get("usage"))
        if state.options.include_usage and state.emit_usage and state.usage is not None:
            return [usage_chunk(state, state.usage)]
    return []


def usage_chunk(state: StreamState, usage: CompletionUsage) -> ChatCompletionChunk:
    return ChatCompletionChunk(
        id=state.id, choices=[], created=state.created, model=state.options.model, usage=usage
    )
