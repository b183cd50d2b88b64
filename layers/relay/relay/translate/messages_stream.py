"""OpenAI chat chunks -> Anthropic Messages stream events, with the state passed explicitly.

Anthropic streams content blocks one after another, each opened, filled with deltas and
closed: reasoning becomes a `thinking` block (its signature a `signature_delta`), text a
`text` block, each tool call a `tool_use` block whose arguments arrive as
`input_json_delta`s. Usage comes last in chat streams, so it travels on `message_delta`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relay.protocol.chat import ChatCompletionChunk, ChoiceDelta, CompletionUsage
from relay.protocol.messages import (
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    Message,
    MessageDelta,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    PingEvent,
    StopReason,
    StreamEvent,
    Usage,
)
from relay.translate.messages_output import STOP_REASONS, message_id, usage_of


@dataclass
class MessagesStreamState:
    id: str
    model: str
    block: int = -1  # index of the open content block, -1 when none is open
    kind: str = ""  # its type: thinking, text or tool_use
    tools: dict[int, int] = field(default_factory=dict)  # chat tool index -> block index
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: CompletionUsage | None = None


def start_events(state: MessagesStreamState) -> list[StreamEvent]:
    """`message_start` (input usage is not known yet: it arrives on `message_delta`) and a ping."""
    message = Message(id=state.id, content=[], model=state.model, usage=Usage())
    return [MessageStartEvent(message=message), PingEvent()]


def new_state(chat_id: str, model: str) -> MessagesStreamState:
    return MessagesStreamState(id=message_id(chat_id), model=model)


def _close(state: MessagesStreamState, out: list[StreamEvent]) -> None:
    if state.block >= 0 and state.kind:
        out.append(ContentBlockStopEvent(index=state.block))
    state.kind = ""


def _open(state: MessagesStreamState, kind: str, block: dict[str, Any], out: list[StreamEvent]) -> int:
    _close(state, out)
    state.block += 1
    state.kind = kind
    out.append(ContentBlockStartEvent(index=state.block, content_block=block))
    return state.block


# The empty block a thinking or text block opens with; its deltas fill it.
_EMPTY_BLOCKS: dict[str, dict[str, Any]] = {
    "thinking": {"type": "thinking", "thinking": "", "signature": ""},
    "text": {"type": "text", "text": ""},
}


def _fill(state: MessagesStreamState, kind: str, delta: dict[str, Any], out: list[StreamEvent]) -> None:
    """`delta` into the open block of `kind`, opening one (and closing any other) first."""
    if state.kind != kind:
        _open(state, kind, dict(_EMPTY_BLOCKS[kind]), out)
    out.append(ContentBlockDeltaEvent(index=state.block, delta=delta))


def _delta(state: MessagesStreamState, delta: ChoiceDelta, out: list[StreamEvent]) -> None:
    if delta.redacted_reasoning:  # complete in one piece: opened with its data, then closed
        _open(
            state, "redacted_thinking", {"type": "redacted_thinking", "data": delta.redacted_reasoning}, out
        )
        _close(state, out)
    if delta.reasoning_content:
        _fill(state, "thinking", {"type": "thinking_delta", "thinking": delta.reasoning_content}, out)
    if delta.reasoning_signature:
        _fill(state, "thinking", {"type": "signature_delta", "signature": delta.reasoning_signature}, out)
    if delta.content:
        _fill(state, "text", {"type": "text_delta", "text": delta.content}, out)
    for call in delta.tool_calls or []:
        if call.id is not None:
            name = call.function.name if call.function else ""
            block = {"type": "tool_use", "id": call.id, "name": name or "", "input": {}}
            state.tools[call.index] = _open(state, "tool_use", block, out)
        arguments = call.function.arguments if call.function else None
        index = state.tools.get(call.index)
        if arguments and index is not None:
            out.append(
                ContentBlockDeltaEvent(
                    index=index, delta={"type": "input_json_delta", "partial_json": arguments}
                )
            )


def chunk_events(chunk: ChatCompletionChunk, state: MessagesStreamState) -> list[StreamEvent]:
    """The events (possibly none) one chat chunk becomes."""
    out: list[StreamEvent] = []
    if chunk.usage is not None:
        state.usage = chunk.usage
    for choice in chunk.choices:
        if choice.index != 0:
            continue
        _delta(state, choice.delta, out)
        if choice.stop_sequence is not None:
            state.stop_reason, state.stop_sequence = "stop_sequence", choice.stop_sequence or None
        elif choice.finish_reason is not None:
            state.stop_reason = STOP_REASONS.get(choice.finish_reason, "end_turn")
    return out


def end_events(state: MessagesStreamState) -> list[StreamEvent]:
    """Close the open block, then `message_delta` (stop reason, usage) and `message_stop`."""
    out: list[StreamEvent] = []
    _close(state, out)
    delta = MessageDelta(stop_reason=state.stop_reason or "end_turn", stop_sequence=state.stop_sequence)
    out.append(MessageDeltaEvent(delta=delta, usage=usage_of(state.usage)))
    out.append(MessageStopEvent())
    return out
