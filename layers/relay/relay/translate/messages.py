"""Anthropic Messages <-> OpenAI chat shapes (pure), so `/v1/messages` reuses the chat machinery.

A Messages request becomes a `ChatCompletionRequest` that the Converse and SageMaker
translators already take (the answer's way back is `messages_output`). What the chat
shape cannot carry is refused with a 400 naming the Anthropic field.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from pydantic import ValidationError

from relay.errors import BadRequestError
from relay.protocol.chat import (
    AssistantMessage,
    ChatCompletionRequest,
    ContentPart,
    FilePart,
    FileRef,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    NamedFunction,
    NamedToolChoice,
    StreamOptions,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from relay.protocol.chat import ThinkingBlock as ChatThinking
from relay.protocol.chat import Tool as ChatTool
from relay.protocol.messages import (
    ContentBlockParam,
    CountTokensRequest,
    DocumentBlockParam,
    ImageBlockParam,
    MessageCreateRequest,
    MessageParam,
    RedactedThinkingBlockParam,
    TextBlockParam,
    ThinkingBlockParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)

# Converse takes at most four stop sequences.
MAX_STOP_SEQUENCES = 4
# A failed tool's result carries this marker: chat tool messages have no error flag.
TOOL_ERROR_PREFIX = "(tool error) "


def _image(block: ImageBlockParam) -> ImagePart:
    source = block.source
    url = source.url if source.type == "url" else f"data:{source.media_type};base64,{source.data}"
    return ImagePart(type="image_url", image_url=ImageURL(url=url), cache_control=block.cache_control)


def _document(block: DocumentBlockParam, param: str) -> FilePart:
    source = block.source
    if source.type == "url":
        raise BadRequestError("Document URL sources are not supported; send the file base64", param=param)
    if block.citations is not None or block.context is not None:
        name = "citations" if block.citations is not None else "context"
        raise BadRequestError(f"Document {name} is not supported", param=f"{param}.{name}")
    data = source.data if source.type == "base64" else base64.b64encode(source.data.encode()).decode()
    file = FileRef(file_data=f"data:{source.media_type};base64,{data}", filename=block.title)
    return FilePart(type="file", file=file, cache_control=block.cache_control)


def _part(block: TextBlockParam | ImageBlockParam | DocumentBlockParam, param: str) -> ContentPart:
    if isinstance(block, TextBlockParam):
        return TextPart(type="text", text=block.text, cache_control=block.cache_control)
    if isinstance(block, ImageBlockParam):
        return _image(block)
    return _document(block, param)


def _tool_result(block: ToolResultBlockParam, param: str) -> ToolMessage:
    content = block.content
    parts: list[ContentPart] = []
    if isinstance(content, str):
        parts.append(TextPart(type="text", text=content))
    else:
        parts.extend(_part(item, f"{param}.content[{i}]") for i, item in enumerate(content or []))
    if block.is_error:
        # Converse's toolResult status has no chat equivalent; the model still sees the failure.
        parts.insert(0, TextPart(type="text", text=TOOL_ERROR_PREFIX))
    if block.cache_control is not None:
        if not parts:
            parts.append(TextPart(type="text", text="(empty)"))
        parts[-1] = parts[-1].model_copy(update={"cache_control": block.cache_control})
    return ToolMessage(role="tool", tool_call_id=block.tool_use_id, content=parts)


def _user(blocks: list[ContentBlockParam], param: str) -> list[UserMessage | ToolMessage]:
    out: list[UserMessage | ToolMessage] = []
    parts: list[ContentPart] = []
    for index, block in enumerate(blocks):
        where = f"{param}[{index}]"
        if isinstance(block, ToolResultBlockParam):
            out.append(_tool_result(block, where))
        elif isinstance(block, TextBlockParam | ImageBlockParam | DocumentBlockParam):
            parts.append(_part(block, where))
        else:
            raise BadRequestError(f"{block.type} blocks belong in assistant turns", param=f"{where}.type")
    if parts:
        out.append(UserMessage(role="user", content=parts))
    return out


def _assistant(blocks: list[ContentBlockParam], param: str) -> AssistantMessage:
    parts: list[ContentPart] = []
    calls: list[ToolCall] = []
    thinking: list[ChatThinking] = []
    for index, block in enumerate(blocks):
        where = f"{param}[{index}]"
        if isinstance(block, TextBlockParam):
            parts.append(TextPart(type="text", text=block.text, cache_control=block.cache_control))
        elif isinstance(block, ToolUseBlockParam):
            if block.cache_control is not None:
                raise BadRequestError(
                    "cache_control on tool_use blocks is not supported; mark a later block",
                    param=f"{where}.cache_control",
                )
            arguments = json.dumps(block.input, ensure_ascii=False)
            calls.append(ToolCall(id=block.id, function=FunctionCall(name=block.name, arguments=arguments)))
        elif isinstance(block, ThinkingBlockParam):
            thinking.append(ChatThinking(thinking=block.thinking, signature=block.signature))
        elif isinstance(block, RedactedThinkingBlockParam):
            thinking.append(ChatThinking(type="redacted_thinking", data=block.data))
        else:
            raise BadRequestError(f"{block.type} blocks belong in user turns", param=f"{where}.type")
    return AssistantMessage(
        role="assistant",
        content=parts or None,
        tool_calls=calls or None,
        thinking_blocks=thinking or None,
    )


def _messages(request: MessageCreateRequest | CountTokensRequest) -> list[Any]:
    messages: list[Any] = []
    system = request.system
    if isinstance(system, str) and system:
        messages.append(SystemMessage(role="system", content=system))
    elif isinstance(system, list) and system:
        parts: list[ContentPart] = [
            TextPart(type="text", text=b.text, cache_control=b.cache_control) for b in system
        ]
        messages.append(SystemMessage(role="system", content=parts))
    for index, message in enumerate(request.messages):
        param = f"messages[{index}].content"
        blocks = _blocks(message)
        if message.role == "user":
            messages.extend(_user(blocks, param))
        else:
            messages.append(_assistant(blocks, param))
    return messages


def _blocks(message: MessageParam) -> list[ContentBlockParam]:
    if isinstance(message.content, str):
        return [TextBlockParam(type="text", text=message.content)]
    return list(message.content)


def _tools(request: MessageCreateRequest | CountTokensRequest) -> list[ChatTool] | None:
    if not request.tools:
        return None
    tools = []
    for index, tool in enumerate(request.tools):
        if tool.type not in (None, "custom"):
            raise BadRequestError(
                f"Server tool {tool.type!r} is not supported; define it as a custom tool",
                param=f"tools[{index}].type",
            )
        if tool.input_schema is None:
            raise BadRequestError("Custom tools need an input_schema", param=f"tools[{index}].input_schema")
        fn = FunctionDefinition(name=tool.name, description=tool.description, parameters=tool.input_schema)
        tools.append(ChatTool(function=fn, cache_control=tool.cache_control))
    return tools


def _tool_choice(request: MessageCreateRequest | CountTokensRequest) -> Any:
    choice = request.tool_choice
    if choice is None:
        return None
    if choice.type == "tool":
        if not choice.name:
            raise BadRequestError("tool_choice of type tool needs a name", param="tool_choice.name")
        return NamedToolChoice(function=NamedFunction(name=choice.name))
    return {"auto": "auto", "any": "required", "none": "none"}[choice.type]


def _refuse_extras(request: MessageCreateRequest | CountTokensRequest) -> None:
    # Anthropic's API refuses unknown fields too; passing them on would reach the model's
    # native API (additionalModelRequestFields) under another contract.
    for name in request.model_extra or {}:
        raise BadRequestError(f"Unsupported parameter {name!r}", param=name)


def _thinking(request: MessageCreateRequest | CountTokensRequest, *, thinking: bool) -> dict[str, Any]:
    if request.thinking is None or request.thinking.type == "disabled":
        return {}
    if not thinking:
        raise BadRequestError("This model does not support extended thinking", param="thinking")
    budget = request.thinking.budget_tokens
    limit = getattr(request, "max_tokens", None)
    if limit is not None and budget >= limit:
        raise BadRequestError(
            "thinking.budget_tokens must be below max_tokens", param="thinking.budget_tokens"
        )
    # Claude on Bedrock takes Anthropic's own `thinking` field; the chat translators pass
    # it on as a model-native field.
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


def to_chat(
    request: MessageCreateRequest | CountTokensRequest, *, thinking: bool, stream: bool = False
) -> ChatCompletionRequest:
    """The chat request for `request`; `thinking` says whether the model takes a thinking budget."""
    _refuse_extras(request)
    fields: dict[str, Any] = _thinking(request, thinking=thinking)
    choice = request.tool_choice
    if isinstance(request, MessageCreateRequest):
        stops = request.stop_sequences
        if stops is not None and len(stops) > MAX_STOP_SEQUENCES:
            raise BadRequestError(
                f"At most {MAX_STOP_SEQUENCES} stop sequences are supported", param="stop_sequences"
            )
        fields.update(
            max_tokens=request.max_tokens,
            stop=stops or None,
            temperature=request.temperature,
            top_p=request.top_p,
            top_k=request.top_k,
            user=request.metadata.user_id if request.metadata else None,
        )
    if stream:
        fields.update(stream=True, stream_options=StreamOptions(include_usage=True))
    try:
        return ChatCompletionRequest(
            model=request.model,
            messages=_messages(request),
            tools=_tools(request),
            tool_choice=_tool_choice(request),
            parallel_tool_calls=False if choice is not None and choice.disable_parallel_tool_use else None,
            **fields,
        )
    except ValidationError as exc:  # a rule of the chat shape the Messages request broke
        raise BadRequestError(str(exc.errors()[0].get("msg", "Invalid request"))) from None
