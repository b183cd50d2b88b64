"""Anthropic Messages API (`/v1/messages`): request, response and stream event models.

Fields follow Anthropic's order. Requests accept unknown top-level fields (the SDK's
`extra_body`); the translator refuses the ones no backend can honour with a 400 naming
them. Content blocks are a discriminated union on `type`, as Anthropic's SDK types are.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from relay.protocol.base import WireModel
from relay.protocol.chat import CacheControl

# --- content blocks ------------------------------------------------------------------


class Base64Source(WireModel):
    type: Literal["base64"]
    media_type: str
    data: str


class URLSource(WireModel):
    type: Literal["url"]
    url: str


class PlainTextSource(WireModel):
    type: Literal["text"]
    media_type: str = "text/plain"
    data: str


class TextBlockParam(WireModel):
    model_config = ConfigDict(extra="allow")  # `citations` on answers echoed back

    type: Literal["text"]
    text: str
    cache_control: CacheControl | None = None


class ImageBlockParam(WireModel):
    type: Literal["image"]
    source: Annotated[Base64Source | URLSource, Field(discriminator="type")]
    cache_control: CacheControl | None = None


class DocumentBlockParam(WireModel):
    type: Literal["document"]
    source: Annotated[Base64Source | URLSource | PlainTextSource, Field(discriminator="type")]
    title: str | None = None
    context: str | None = None
    citations: dict[str, Any] | None = None
    cache_control: CacheControl | None = None


class ToolUseBlockParam(WireModel):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]
    cache_control: CacheControl | None = None


ToolResultContent = Annotated[TextBlockParam | ImageBlockParam, Field(discriminator="type")]


class ToolResultBlockParam(WireModel):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[ToolResultContent] | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingBlockParam(WireModel):
    type: Literal["thinking"]
    thinking: str
    signature: str


class RedactedThinkingBlockParam(WireModel):
    type: Literal["redacted_thinking"]
    data: str


ContentBlockParam = Annotated[
    TextBlockParam
    | ImageBlockParam
    | DocumentBlockParam
    | ToolUseBlockParam
    | ToolResultBlockParam
    | ThinkingBlockParam
    | RedactedThinkingBlockParam,
    Field(discriminator="type"),
]


class MessageParam(WireModel):
    role: Literal["user", "assistant"]
    content: str | Annotated[list[ContentBlockParam], Field(min_length=1)]


# --- tools, choices, thinking --------------------------------------------------------


class ToolParam(WireModel):
    model_config = ConfigDict(extra="allow")

    name: str
    description: str | None = None
    input_schema: dict[str, Any] | None = None  # required for custom tools (checked on translation)
    type: str | None = None  # "custom", or a server tool such as "web_search_20250305"
    cache_control: CacheControl | None = None


class ToolChoiceParam(WireModel):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class ThinkingEnabled(WireModel):
    type: Literal["enabled"]
    budget_tokens: int = Field(ge=1024, strict=True)


class ThinkingDisabled(WireModel):
    type: Literal["disabled"]


class MessageMetadata(WireModel):
    user_id: str | None = None


class MessageCreateRequest(WireModel):
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[MessageParam] = Field(min_length=1)
    # Numbers and flags are strict, as on the chat models: "10" or true is a 400, not 10.
    max_tokens: int = Field(ge=1, strict=True)
    metadata: MessageMetadata | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = Field(default=False, strict=True)
    system: str | list[TextBlockParam] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=1.0, strict=True)
    thinking: Annotated[ThinkingEnabled | ThinkingDisabled, Field(discriminator="type")] | None = None
    tool_choice: ToolChoiceParam | None = None
    tools: list[ToolParam] | None = None
    top_k: int | None = Field(default=None, ge=1, strict=True)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0, strict=True)


class CountTokensRequest(WireModel):
    """`/v1/messages/count_tokens`: a message request without the generation settings."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[TextBlockParam] | None = None
    thinking: Annotated[ThinkingEnabled | ThinkingDisabled, Field(discriminator="type")] | None = None
    tool_choice: ToolChoiceParam | None = None
    tools: list[ToolParam] | None = None


class CountTokensResponse(WireModel):
    input_tokens: int


# --- responses -----------------------------------------------------------------------

StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal"]


class TextBlock(WireModel):
    type: Literal["text"] = "text"
    text: str


class ToolUseBlock(WireModel):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ThinkingBlock(WireModel):
    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str


class RedactedThinkingBlock(WireModel):
    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str


ContentBlock = TextBlock | ToolUseBlock | ThinkingBlock | RedactedThinkingBlock


class Usage(WireModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class Message(WireModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    content: list[ContentBlock]
    model: str
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: Usage


# --- stream events (each is written as `event: <type>` + `data: <json>`) -------------


class MessageStartEvent(WireModel):
    type: Literal["message_start"] = "message_start"
    message: Message


class ContentBlockStartEvent(WireModel):
    type: Literal["content_block_start"] = "content_block_start"
    index: int
    content_block: dict[str, Any]


class ContentBlockDeltaEvent(WireModel):
    type: Literal["content_block_delta"] = "content_block_delta"
    index: int
    delta: dict[str, Any]


class ContentBlockStopEvent(WireModel):
    type: Literal["content_block_stop"] = "content_block_stop"
    index: int


class MessageDelta(WireModel):
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None


class MessageDeltaEvent(WireModel):
    type: Literal["message_delta"] = "message_delta"
    delta: MessageDelta
    usage: Usage


class MessageStopEvent(WireModel):
    type: Literal["message_stop"] = "message_stop"


class PingEvent(WireModel):
    type: Literal["ping"] = "ping"


StreamEvent = (
    MessageStartEvent
    | ContentBlockStartEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
    | PingEvent
)
