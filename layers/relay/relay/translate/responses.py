"""OpenAI Responses request -> chat request (pure), so `/v1/responses` reuses the chat machinery.

Input items become chat messages: `message` items by role, `function_call` items tool
calls on the assistant turn, `function_call_output` items tool messages, and `reasoning`
items the thinking blocks of the assistant turn that follows them. A reasoning item's
`encrypted_content` is Relay's opaque carrier of Bedrock's signed thinking block (see
`reasoning_carrier`): Bedrock's signature, not secrecy, is what protects it.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from relay.errors import BadRequestError
from relay.protocol.chat import (
    AssistantMessage,
    ChatCompletionRequest,
    ContentPart,
    DeveloperMessage,
    FilePart,
    FileRef,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    JSONSchemaFormat,
    NamedFunction,
    NamedToolChoice,
    ReasoningEffort,
    RefusalPart,
    ResponseFormat,
    StreamOptions,
    SystemMessage,
    TextPart,
    ThinkingBlock,
    Tool,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from relay.protocol.responses import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputFile,
    InputImage,
    InputText,
    MessageItem,
    ReasoningItem,
    Refusal,
    ResponseCreateRequest,
)

SUPPORTED_INCLUDES = frozenset({"reasoning.encrypted_content"})
_ITEMS: dict[str, type[BaseModel]] = {
    "message": MessageItem,
    "function_call": FunctionCallItem,
    "function_call_output": FunctionCallOutputItem,
    "reasoning": ReasoningItem,
}
_PARTS: dict[str, type[BaseModel]] = {
    "input_text": InputText,
    "output_text": InputText,
    "input_image": InputImage,
    "input_file": InputFile,
    "refusal": Refusal,
}


def reasoning_carrier(block: ThinkingBlock) -> str:
    """A thinking block as `encrypted_content`: base64 of its JSON (text, signature or redacted data)."""
    fields = block.model_dump(exclude_none=True)
    return base64.b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode()


def _carried(content: str, param: str) -> ThinkingBlock:
    try:
        return ThinkingBlock.model_validate_json(base64.b64decode(content, validate=True))
    except (binascii.Error, ValueError, ValidationError) as exc:
        raise BadRequestError("encrypted_content was not produced by Relay", param=param) from exc


def _parse(model: type[BaseModel], value: Any, param: str) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise BadRequestError(f"{param}.{where}: {first.get('msg')}", param=f"{param}.{where}") from None


def _part(raw: dict[str, Any], param: str) -> ContentPart:
    kind = raw.get("type")
    model = _PARTS.get(str(kind))
    if model is None:
        raise BadRequestError(f"Unsupported content part type {kind!r}", param=f"{param}.type")
    part = _parse(model, raw, param)
    if isinstance(part, InputText):
        return TextPart(type="text", text=part.text)
    if isinstance(part, Refusal):
        return RefusalPart(type="refusal", refusal=part.refusal)
    if isinstance(part, InputImage):
        if part.image_url is None:
            raise BadRequestError("Only image_url images are supported (no Files API)", param=param)
        return ImagePart(type="image_url", image_url=ImageURL(url=part.image_url, detail=part.detail))
    if part.file_data is None:
        raise BadRequestError("Only inline files (file_data) are supported", param=param)
    data = part.file_data
    if not data.startswith("data:"):  # the SDK's examples send bare base64 with a filename
        data = f"data:application/pdf;base64,{data}"
    return FilePart(type="file", file=FileRef(file_data=data, filename=part.filename))


def _content(content: str | list[dict[str, Any]], param: str) -> str | list[ContentPart]:
    if isinstance(content, str):
        return content
    return [_part(raw, f"{param}[{index}]") for index, raw in enumerate(content)]


class _Conversation:
    """Chat messages built item by item; reasoning waits for the assistant turn it belongs to."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self._thinking: list[ThinkingBlock] = []

    def _assistant(self) -> AssistantMessage:
        last = self.messages[-1] if self.messages else None
        if isinstance(last, AssistantMessage) and not self._thinking:
            return last
        message = AssistantMessage(role="assistant", thinking_blocks=self._thinking or None)
        self._thinking = []
        self.messages.append(message)
        return message

    def add(self, raw: dict[str, Any], param: str) -> None:
        kind = raw.get("type", "message" if "role" in raw else None)
        model = _ITEMS.get(str(kind))
        if model is None:
            raise BadRequestError(f"Unsupported input item type {kind!r}", param=f"{param}.type")
        item = _parse(model, {**raw, "type": kind}, param)
        if isinstance(item, ReasoningItem):
            if item.encrypted_content:
                self._thinking.append(_carried(item.encrypted_content, f"{param}.encrypted_content"))
            else:  # unsigned: kept for models that take it, left out for those that verify
                self._thinking.append(ThinkingBlock(thinking="".join(s.text for s in item.summary)))
        elif isinstance(item, FunctionCallItem):
            message = self._assistant()
            call = ToolCall(id=item.call_id, function=FunctionCall(name=item.name, arguments=item.arguments))
            message.tool_calls = [*(message.tool_calls or []), call]
        elif isinstance(item, FunctionCallOutputItem):
            output = _content(item.output, f"{param}.output")
            self.messages.append(ToolMessage(role="tool", tool_call_id=item.call_id, content=output))
        elif isinstance(item, MessageItem):
            content = _content(item.content, f"{param}.content")
            if item.role == "assistant":
                message = self._assistant()
                if message.content is not None or message.tool_calls:
                    message = AssistantMessage(role="assistant")
                    self.messages.append(message)
                message.content = content
            else:
                roles = {"user": UserMessage, "system": SystemMessage, "developer": DeveloperMessage}
                self.messages.append(roles[item.role](role=item.role, content=content))


def input_items(request: ResponseCreateRequest) -> list[dict[str, Any]]:
    """`input` as a list of items (a string is one user message)."""
    if isinstance(request.input, str):
        return [{"type": "message", "role": "user", "content": request.input}]
    return list(request.input)


def _tools(request: ResponseCreateRequest) -> list[Tool] | None:
    tools = []
    for index, raw in enumerate(request.tools or []):
        kind = raw.get("type")
        if kind != "function":
            raise BadRequestError(
                f"Built-in tool {kind!r} is not supported; only function tools run through Relay",
                param=f"tools[{index}].type",
            )
        if not raw.get("name"):
            raise BadRequestError("Function tools need a name", param=f"tools[{index}].name")
        fn = FunctionDefinition(
            name=raw["name"],
            description=raw.get("description"),
            parameters=raw.get("parameters"),
            strict=raw.get("strict"),
        )
        tools.append(Tool(function=fn))
    return tools or None


def _tool_choice(choice: str | dict[str, Any] | None) -> Any:
    if choice is None or isinstance(choice, str):
        if choice not in (None, "none", "auto", "required"):
            raise BadRequestError(f"Unknown tool_choice {choice!r}", param="tool_choice")
        return choice
    if choice.get("type") == "function" and choice.get("name"):
        return NamedToolChoice(function=NamedFunction(name=choice["name"]))
    raise BadRequestError(f"tool_choice of type {choice.get('type')!r} is not supported", param="tool_choice")


def _format(request: ResponseCreateRequest) -> ResponseFormat | None:
    if request.text is None:
        return None
    if request.text.model_extra:
        name = next(iter(request.text.model_extra))
        raise BadRequestError(f"text.{name} is not supported", param=f"text.{name}")
    fmt = request.text.format
    if fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return ResponseFormat(type="json_object")
    if not fmt.name:
        raise BadRequestError("text.format.name is required for json_schema", param="text.format.name")
    schema = JSONSchemaFormat(
        name=fmt.name, description=fmt.description, schema=fmt.schema_, strict=fmt.strict
    )
    return ResponseFormat(type="json_schema", json_schema=schema)


def refuse_unsupported(request: ResponseCreateRequest) -> None:
    for name in request.extra_fields:
        raise BadRequestError(f"Unsupported parameter {name!r}", param=name)
    if request.background:
        raise BadRequestError("Background responses are not supported", param="background")
    for index, name in enumerate(request.include or []):
        if name not in SUPPORTED_INCLUDES:
            raise BadRequestError(f"include {name!r} is not supported", param=f"include[{index}]")
    if request.truncation == "auto":
        raise BadRequestError("Automatic truncation is not supported; use disabled", param="truncation")
    # Relay never pads stream events, so only "no obfuscation" can be honoured.
    if request.stream_options is not None and request.stream_options.include_obfuscation:
        raise BadRequestError(
            "Stream obfuscation is not supported", param="stream_options.include_obfuscation"
        )


def to_chat(
    request: ResponseCreateRequest, history: list[dict[str, Any]], *, stream: bool = False
) -> ChatCompletionRequest:
    """The chat request for `request`, after the stored conversation `history` (items)."""
    refuse_unsupported(request)
    conversation = _Conversation()
    if request.instructions:
        conversation.messages.append(SystemMessage(role="system", content=request.instructions))
    for index, raw in enumerate(history):
        conversation.add(raw, f"previous_response_id[{index}]")
    for index, raw in enumerate(input_items(request)):
        conversation.add(raw, f"input[{index}]" if isinstance(request.input, list) else "input")
    if not conversation.messages:
        raise BadRequestError("input must hold at least one item", param="input")
    effort = request.reasoning.effort if request.reasoning else None
    metadata = dict(request.metadata or {})
    if request.safety_identifier is not None:  # as OpenAI's `user` successor: request metadata
        metadata["safety_identifier"] = request.safety_identifier
    try:
        return _chat_request(request, conversation, metadata, effort, stream=stream)
    except ValidationError as exc:  # a rule of the chat shape the request broke
        raise BadRequestError(str(exc.errors()[0].get("msg", "Invalid request"))) from None


def _chat_request(
    request: ResponseCreateRequest,
    conversation: _Conversation,
    metadata: dict[str, str],
    effort: ReasoningEffort | Literal["none"] | None,
    *,
    stream: bool,
) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model=request.model,
        messages=conversation.messages,
        max_completion_tokens=request.max_output_tokens,
        metadata=metadata or None,
        service_tier=request.service_tier,
        parallel_tool_calls=request.parallel_tool_calls,
        reasoning_effort=None if effort == "none" else effort,
        response_format=_format(request),
        stream=stream,
        stream_options=StreamOptions(include_usage=True) if stream else None,
        temperature=request.temperature,
        tool_choice=_tool_choice(request.tool_choice),
        tools=_tools(request),
        top_p=request.top_p,
        user=request.user,
    )
