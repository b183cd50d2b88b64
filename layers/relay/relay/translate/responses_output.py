"""Chat completions -> OpenAI Response objects and their output items (pure).

Output items are ordered reasoning, message, function calls, as the chat answer holds
them; each item's id is the response id's hex with its output index, so a streamed
response and its stored copy name the same items.
"""

from __future__ import annotations

from typing import Any, Literal

from relay.protocol.chat import (
    ChatCompletion,
    ChatCompletionMessage,
    CompletionUsage,
    FinishReason,
    ThinkingBlock,
)
from relay.protocol.responses import (
    IncompleteDetails,
    InputTokensDetails,
    OutputTokensDetails,
    Response,
    ResponseCreateRequest,
    ResponseUsage,
    Status,
)
from relay.translate.responses import reasoning_carrier

# Reasons, not models: an instance here would build the model's validator at import.
_INCOMPLETE: dict[FinishReason, Literal["max_output_tokens", "content_filter"]] = {
    "length": "max_output_tokens",
    "content_filter": "content_filter",
}


def item_id(response_id: str, prefix: str, index: int) -> str:
    return f"{prefix}_{response_id.removeprefix('resp_')}{index:03d}"


def reasoning_item(
    response_id: str, index: int, block: ThinkingBlock, *, summary: bool, encrypted: bool
) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id(response_id, "rs", index), "type": "reasoning", "summary": []}
    if summary and block.thinking:
        item["summary"] = [{"type": "summary_text", "text": block.thinking}]
    if encrypted:
        item["encrypted_content"] = reasoning_carrier(block)
    return item


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(response_id: str, index: int, parts: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {
        "id": item_id(response_id, "msg", index),
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": parts,
    }


def call_item(
    response_id: str, index: int, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": item_id(response_id, "fc", index),
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def wants_summary(request: ResponseCreateRequest) -> bool:
    reasoning = request.reasoning
    return reasoning is not None and bool(reasoning.summary or reasoning.generate_summary)


def wants_encrypted(request: ResponseCreateRequest) -> bool:
    return "reasoning.encrypted_content" in (request.include or [])


def thinking_of(message: ChatCompletionMessage) -> list[ThinkingBlock]:
    if message.thinking_blocks is not None:
        return message.thinking_blocks
    if message.reasoning_content:
        return [ThinkingBlock(thinking=message.reasoning_content, signature=message.reasoning_signature)]
    return []


def output_items(
    message: ChatCompletionMessage, request: ResponseCreateRequest, response_id: str, *, carry: bool = False
) -> list[dict[str, Any]]:
    """The output items; with `carry`, reasoning keeps its carrier even when the client did not ask."""
    items: list[dict[str, Any]] = []
    for block in thinking_of(message):
        items.append(
            reasoning_item(
                response_id,
                len(items),
                block,
                summary=wants_summary(request),
                encrypted=carry or wants_encrypted(request),
            )
        )
    parts = [text_part(message.content)] if message.content else []
    if message.refusal:
        parts.append({"type": "refusal", "refusal": message.refusal})
    if parts:
        items.append(message_item(response_id, len(items), parts, "completed"))
    for call in message.tool_calls or []:
        items.append(
            call_item(
                response_id, len(items), call.id, call.function.name, call.function.arguments, "completed"
            )
        )
    return items


def usage_of(usage: CompletionUsage | None) -> ResponseUsage | None:
    if usage is None:
        return None
    prompt = usage.prompt_tokens_details
    completion = usage.completion_tokens_details
    return ResponseUsage(
        input_tokens=usage.prompt_tokens,
        input_tokens_details=InputTokensDetails(
            cached_tokens=(prompt.cached_tokens or 0) if prompt else 0,
            cache_write_tokens=(prompt.cache_write_tokens or 0) if prompt else 0,
        ),
        output_tokens=usage.completion_tokens,
        output_tokens_details=OutputTokensDetails(
            reasoning_tokens=(completion.reasoning_tokens or 0) if completion else 0
        ),
        total_tokens=usage.total_tokens,
    )


def status_of(finish: FinishReason | None) -> tuple[Status, IncompleteDetails | None]:
    reason = _INCOMPLETE.get(finish) if finish is not None else None
    return ("incomplete", IncompleteDetails(reason=reason)) if reason is not None else ("completed", None)


def shell(request: ResponseCreateRequest, response_id: str, created_at: int, status: Status) -> Response:
    """The Response with the request's fields echoed and no output yet."""
    reasoning = request.reasoning
    text = request.text.model_dump(by_alias=True, exclude_none=True) if request.text else None
    return Response(
        id=response_id,
        created_at=created_at,
        status=status,
        instructions=request.instructions,
        max_output_tokens=request.max_output_tokens,
        metadata=request.metadata or {},
        model=request.model,
        parallel_tool_calls=request.parallel_tool_calls is not False,
        previous_response_id=request.previous_response_id,
        prompt_cache_key=request.prompt_cache_key,
        safety_identifier=request.safety_identifier,
        service_tier=request.service_tier,
        reasoning={
            "effort": reasoning.effort if reasoning else None,
            "summary": (reasoning.summary or reasoning.generate_summary) if reasoning else None,
        },
        store=request.store is not False,
        temperature=request.temperature,
        text=text or {"format": {"type": "text"}},
        tool_choice=request.tool_choice or "auto",
        tools=request.tools or [],
        top_p=request.top_p,
        truncation=request.truncation or "disabled",
        user=request.user,
    )


def continuation_items(
    completion: ChatCompletion, request: ResponseCreateRequest, response_id: str
) -> list[dict[str, Any]]:
    """The output as a stored response keeps it for `previous_response_id`: signed reasoning
    must go back to the model whether or not the client asked to see its carrier."""
    return output_items(completion.choices[0].message, request, response_id, carry=True)


def from_chat(
    completion: ChatCompletion, request: ResponseCreateRequest, response_id: str, created_at: int
) -> Response:
    choice = completion.choices[0]
    status, incomplete = status_of(choice.finish_reason)
    response = shell(request, response_id, created_at, status)
    response.incomplete_details = incomplete
    response.output = output_items(choice.message, request, response_id)
    response.usage = usage_of(completion.usage)
    return response
