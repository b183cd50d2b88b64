"""OpenAI chat chunks -> Responses stream events, with the state passed explicitly.

Each output item is announced (`response.output_item.added`), filled with deltas (one
event per upstream delta) and closed (`...done` events, then `response.output_item.done`)
before the next one opens; every event carries the next `sequence_number`. The state
keeps the finished items, so the closing `response.completed` holds the whole response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from relay.errors import RelayError
from relay.protocol.chat import ChatCompletionChunk, ChoiceDelta, CompletionUsage, FinishReason, ThinkingBlock
from relay.protocol.responses import Response, ResponseCreateRequest, ResponseError
from relay.translate.responses_output import (
    call_item,
    item_id,
    message_item,
    reasoning_item,
    shell,
    status_of,
    text_part,
    usage_of,
    wants_encrypted,
    wants_summary,
)

Event = dict[str, Any]


@dataclass
class ResponsesStreamState:
    request: ResponseCreateRequest
    id: str
    created_at: int
    sequence: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)  # finished output items
    carried: list[dict[str, Any]] = field(default_factory=list)  # the same, reasoning with its carrier
    kind: str = ""  # the open item: reasoning, message or function_call ("" when none)
    item: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the open item's text, reasoning or arguments so far
    signature: str | None = None
    redacted: ThinkingBlock | None = None  # the open reasoning item is this redacted block
    tools: dict[int, bool] = field(default_factory=dict)  # chat tool index -> seen
    finish: FinishReason | None = None
    usage: CompletionUsage | None = None


def _event(state: ResponsesStreamState, kind: str, **fields: Any) -> Event:
    event = {"type": kind, "sequence_number": state.sequence, **fields}
    state.sequence += 1
    return event


def _dump(response: Response) -> dict[str, Any]:
    return response.model_dump(mode="json", exclude_none=True)


def snapshot(state: ResponsesStreamState, status: Any) -> Response:
    response = shell(state.request, state.id, state.created_at, status)
    response.output = list(state.items)
    return response


def start_events(state: ResponsesStreamState) -> list[Event]:
    response = _dump(snapshot(state, "in_progress"))
    return [
        _event(state, "response.created", response=response),
        _event(state, "response.in_progress", response=response),
    ]


def _where(state: ResponsesStreamState) -> dict[str, Any]:
    return {"item_id": state.item["id"], "output_index": len(state.items)}


def _close(state: ResponsesStreamState, out: list[Event]) -> None:
    if not state.kind:
        return
    index, where = len(state.items), _where(state)
    if state.kind == "reasoning":
        summary = wants_summary(state.request) and state.redacted is None
        block = state.redacted or ThinkingBlock(thinking=state.text, signature=state.signature)
        item = reasoning_item(
            state.id, index, block, summary=summary, encrypted=wants_encrypted(state.request)
        )
        carried = reasoning_item(state.id, index, block, summary=summary, encrypted=True)
        if summary:
            part = {"type": "summary_text", "text": state.text}
            out.append(
                _event(
                    state, "response.reasoning_summary_text.done", **where, summary_index=0, text=state.text
                )
            )
            out.append(
                _event(state, "response.reasoning_summary_part.done", **where, summary_index=0, part=part)
            )
    elif state.kind == "message":
        item = message_item(state.id, index, [text_part(state.text)], "completed")
        content = {**where, "content_index": 0}
        out.append(_event(state, "response.output_text.done", **content, text=state.text, logprobs=[]))
        out.append(_event(state, "response.content_part.done", **content, part=text_part(state.text)))
    else:
        item = {**state.item, "arguments": state.text, "status": "completed"}
        out.append(
            _event(
                state,
                "response.function_call_arguments.done",
                **where,
                arguments=state.text,
                name=item["name"],
            )
        )
    out.append(_event(state, "response.output_item.done", output_index=index, item=item))
    state.items.append(item)
    state.carried.append(carried if state.kind == "reasoning" else item)
    state.kind, state.item, state.text, state.signature, state.redacted = "", {}, "", None, None


def _open(
    state: ResponsesStreamState,
    kind: str,
    make: Callable[[int], dict[str, Any]],
    out: list[Event],
    redacted: ThinkingBlock | None = None,
) -> None:
    """Close the open item, then open one built by `make(output_index)`."""
    _close(state, out)
    item = make(len(state.items))
    state.kind, state.item, state.redacted = kind, item, redacted
    out.append(_event(state, "response.output_item.added", output_index=len(state.items), item=item))
    where = _where(state)
    if kind == "message":
        out.append(_event(state, "response.content_part.added", **where, content_index=0, part=text_part("")))
    elif kind == "reasoning" and redacted is None and wants_summary(state.request):
        part = {"type": "summary_text", "text": ""}
        out.append(
            _event(state, "response.reasoning_summary_part.added", **where, summary_index=0, part=part)
        )


def _new_reasoning(response_id: str, index: int) -> dict[str, Any]:
    return {"id": item_id(response_id, "rs", index), "type": "reasoning", "summary": []}


def _new_call(response_id: str, call_id: str, name: str, index: int) -> dict[str, Any]:
    return call_item(response_id, index, call_id, name, "", "in_progress")


def _delta(state: ResponsesStreamState, delta: ChoiceDelta, out: list[Event]) -> None:
    if delta.redacted_reasoning:  # complete in one piece: announced, then done
        redacted = ThinkingBlock(type="redacted_thinking", data=delta.redacted_reasoning)
        _open(state, "reasoning", partial(_new_reasoning, state.id), out, redacted)
        _close(state, out)
    if delta.reasoning_content or delta.reasoning_signature:
        if state.kind != "reasoning":
            _open(state, "reasoning", partial(_new_reasoning, state.id), out)
        if delta.reasoning_content:
            state.text += delta.reasoning_content
            if wants_summary(state.request):
                out.append(
                    _event(
                        state,
                        "response.reasoning_summary_text.delta",
                        **_where(state),
                        summary_index=0,
                        delta=delta.reasoning_content,
                    )
                )
        if delta.reasoning_signature:
            state.signature = delta.reasoning_signature
    if delta.content:
        if state.kind != "message":
            _open(state, "message", lambda i: message_item(state.id, i, [], "in_progress"), out)
        state.text += delta.content
        out.append(
            _event(
                state,
                "response.output_text.delta",
                **_where(state),
                content_index=0,
                delta=delta.content,
                logprobs=[],
            )
        )
    for call in delta.tool_calls or []:
        if call.id is not None and call.index not in state.tools:
            state.tools[call.index] = True
            name = (call.function.name if call.function else None) or ""
            _open(state, "function_call", partial(_new_call, state.id, call.id, name), out)
        arguments = call.function.arguments if call.function else None
        if arguments and state.kind == "function_call":
            state.text += arguments
            out.append(
                _event(state, "response.function_call_arguments.delta", **_where(state), delta=arguments)
            )


def chunk_events(chunk: ChatCompletionChunk, state: ResponsesStreamState) -> list[Event]:
    out: list[Event] = []
    if chunk.usage is not None:
        state.usage = chunk.usage
    for choice in chunk.choices:
        if choice.index == 0:
            _delta(state, choice.delta, out)
            if choice.finish_reason is not None:
                state.finish = choice.finish_reason
    return out


def final_response(state: ResponsesStreamState) -> Response:
    status, incomplete = status_of(state.finish)
    response = snapshot(state, status)
    response.incomplete_details = incomplete
    response.usage = usage_of(state.usage)
    return response


def end_events(state: ResponsesStreamState, response: Response) -> list[Event]:
    """Close the open item, then `response.completed` (or `.incomplete`) with `response`."""
    kind = "response.completed" if response.status == "completed" else "response.incomplete"
    return [_event(state, kind, response=_dump(response))]


def close_events(state: ResponsesStreamState) -> list[Event]:
    out: list[Event] = []
    _close(state, out)
    return out


def failed_events(state: ResponsesStreamState, error: RelayError) -> list[Event]:
    """An `error` event (what the SDK surfaces) and `response.failed` with the error on it."""
    code = error.code or error.type
    response = snapshot(state, "failed")
    response.error = ResponseError(code=code, message=error.message)
    return [
        _event(state, "error", code=code, message=error.message, param=error.param),
        _event(state, "response.failed", response=_dump(response)),
    ]
