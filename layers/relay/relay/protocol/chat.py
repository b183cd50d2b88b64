"""OpenAI chat completions: request, response and stream chunk models (backend-neutral).

Fields follow OpenAI's order; Relay's own fields sit in commented blocks. Requests accept
unknown top-level fields (the SDK sends `extra_body` keys there); each backend decides
whether it can honour them and refuses with a 400 naming the field when it cannot.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from relay.errors import BadRequestError
from relay.protocol.base import WireModel

# Bedrock refuses empty names, ids and stop sequences in its own parameter validation, so
# they are refused here first, as 400s naming the OpenAI field.
NonEmptyStr = Annotated[str, Field(min_length=1)]

# --- content parts -------------------------------------------------------------------


class _Part(WireModel):
    # `cache_control` (Anthropic's spelling, used by LiteLLM and LangChain) rides on parts.
    model_config = ConfigDict(extra="allow")


class CacheControl(WireModel):
    type: Literal["ephemeral"] = "ephemeral"
    ttl: str | None = None


class TextPart(_Part):
    type: Literal["text"]
    text: str
    cache_control: CacheControl | None = None


class ImageURL(WireModel):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Part):
    type: Literal["image_url"]
    image_url: ImageURL
    cache_control: CacheControl | None = None


class FileRef(WireModel):
    file_data: str | None = None  # a data URL: data:application/pdf;base64,...
    file_id: str | None = None
    filename: str | None = None


class FilePart(_Part):
    type: Literal["file"]
    file: FileRef
    cache_control: CacheControl | None = None


class InputAudio(WireModel):
    data: str
    format: str


class AudioPart(_Part):
    type: Literal["input_audio"]
    input_audio: InputAudio


class RefusalPart(_Part):
    type: Literal["refusal"]
    refusal: str


ContentPart = Annotated[
    TextPart | ImagePart | FilePart | AudioPart | RefusalPart, Field(discriminator="type")
]
Content = str | list[ContentPart]

# --- messages ------------------------------------------------------------------------


class FunctionCall(WireModel):
    name: str
    arguments: str


class ToolCall(WireModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ThinkingBlock(WireModel):
    """One reasoning block as the model produced it; `signature` proves it unmodified."""

    type: Literal["thinking", "redacted_thinking"] = "thinking"
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None  # base64 of a redacted block


class SystemMessage(WireModel):
    role: Literal["system"]
    content: Content
    name: str | None = None


class DeveloperMessage(WireModel):
    role: Literal["developer"]
    content: Content
    name: str | None = None


class UserMessage(WireModel):
    role: Literal["user"]
    content: Content
    name: str | None = None


class AssistantMessage(WireModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["assistant"]
    content: Content | None = None
    refusal: str | None = None
    name: str | None = None
    audio: dict[str, Any] | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    # --- Relay extensions: reasoning returned by an earlier turn, sent back so models
    # that sign their reasoning (Claude) can continue it. `thinking_blocks` wins over the
    # flat pair when both are present.
    reasoning_content: str | None = None
    reasoning_signature: str | None = None
    thinking_blocks: list[ThinkingBlock] | None = None

    @field_validator("tool_calls")
    @classmethod
    def _named_calls(cls, value: list[ToolCall] | None) -> list[ToolCall] | None:
        # ToolCall is also a response type (a model may answer oddly); a request's must be complete.
        for call in value or ():
            if not call.id or not call.function.name:
                raise ValueError("each tool call needs a non-empty id and function.name")
        return value


class ToolMessage(WireModel):
    role: Literal["tool"]
    content: Content
    tool_call_id: NonEmptyStr


class FunctionMessage(WireModel):
    role: Literal["function"]
    content: str | None = None
    name: str


Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage,
    Field(discriminator="role"),
]

# --- tools and formats ---------------------------------------------------------------


class FunctionDefinition(WireModel):
    name: NonEmptyStr
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(WireModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function"] = "function"
    function: FunctionDefinition
    cache_control: CacheControl | None = None


class NamedFunction(WireModel):
    name: NonEmptyStr


class NamedToolChoice(WireModel):
    type: Literal["function"] = "function"
    function: NamedFunction


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class JSONSchemaFormat(WireModel):
    name: str
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    model_config = ConfigDict(populate_by_name=True)


class ResponseFormat(WireModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_present(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format.json_schema is required when type is json_schema")
        return self


class StreamOptions(WireModel):
    include_usage: bool | None = Field(default=None, strict=True)
    include_obfuscation: bool | None = Field(default=None, strict=True)


class GuardrailConfig(WireModel):
    """Relay extension: an Amazon Bedrock guardrail for this request."""

    guardrail_identifier: str = Field(alias="guardrailIdentifier")
    guardrail_version: str = Field(alias="guardrailVersion")
    trace: Literal["enabled", "disabled", "enabled_full"] | None = None

    model_config = ConfigDict(populate_by_name=True)


ReasoningEffort = Literal["minimal", "low", "medium", "high"]


class ChatCompletionRequest(WireModel):
    model_config = ConfigDict(extra="allow")

    messages: list[Message] = Field(min_length=1)
    model: str
    audio: dict[str, Any] | None = None
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0, strict=True)
    function_call: Literal["none", "auto"] | NamedFunction | None = None
    functions: list[FunctionDefinition] | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = Field(default=None, strict=True)
    max_completion_tokens: int | None = Field(default=None, ge=1, strict=True)
    max_tokens: int | None = Field(default=None, ge=1, strict=True)
    metadata: dict[str, str] | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    n: int | None = Field(default=None, ge=1, le=128, strict=True)
    parallel_tool_calls: bool | None = Field(default=None, strict=True)
    prediction: dict[str, Any] | None = None
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0, strict=True)
    reasoning_effort: ReasoningEffort | None = None
    response_format: ResponseFormat | None = None
    seed: int | None = Field(default=None, strict=True)
    service_tier: str | None = None
    stop: NonEmptyStr | list[NonEmptyStr] | None = None
    store: bool | None = Field(default=None, strict=True)
    stream: bool | None = Field(default=False, strict=True)
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, strict=True)
    tool_choice: ToolChoice | None = None
    tools: list[Tool] | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20, strict=True)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0, strict=True)
    user: str | None = None
    web_search_options: dict[str, Any] | None = None
    # --- Relay extensions ---
    top_k: int | None = Field(default=None, ge=0, strict=True)
    guardrail_config: GuardrailConfig | None = None
    # Put a cache point after the system prompt (models with prompt caching only).
    cache_system_prompt: bool | None = Field(default=None, strict=True)

    @field_validator("stop")
    @classmethod
    def _stop_list(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> ChatCompletionRequest:
        # A RelayError passes through pydantic untouched, so the 400 can name its param
        # (a ValueError here would carry no field location).
        if self.tools and self.functions:
            raise BadRequestError("Use either tools or functions, not both", param="functions")
        if self.stream_options is not None and not self.stream:
            raise BadRequestError(
                "stream_options is only allowed when stream is true", param="stream_options"
            )
        return self

    @property
    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


# --- responses -----------------------------------------------------------------------

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class ChatCompletionMessage(WireModel):
    content: str | None = None
    refusal: str | None = None
    role: Literal["assistant"] = "assistant"
    function_call: FunctionCall | None = None
    tool_calls: list[ToolCall] | None = None
    # --- Relay extensions (see AssistantMessage) ---
    reasoning_content: str | None = None
    reasoning_signature: str | None = None
    thinking_blocks: list[ThinkingBlock] | None = None


class Choice(WireModel):
    finish_reason: FinishReason | None
    index: int
    logprobs: None = None
    message: ChatCompletionMessage
    # --- Relay-internal, never serialized: the stop sequence that ended the answer ("" when
    # the model said a stop sequence did but not which), for /v1/messages' stop_reason.
    stop_sequence: str | None = Field(default=None, exclude=True)


class CompletionTokensDetails(WireModel):
    reasoning_tokens: int | None = None


class PromptTokensDetails(WireModel):
    cached_tokens: int | None = None
    # --- Relay extension: tokens written to the prompt cache (billed at a higher rate) ---
    cache_write_tokens: int | None = None


class CompletionUsage(WireModel):
    completion_tokens: int
    prompt_tokens: int
    total_tokens: int
    completion_tokens_details: CompletionTokensDetails | None = None
    prompt_tokens_details: PromptTokensDetails | None = None


def _now() -> int:
    return int(time.time())


class ChatCompletion(WireModel):
    id: str
    choices: list[Choice]
    created: int = Field(default_factory=_now)
    model: str
    object: Literal["chat.completion"] = "chat.completion"
    service_tier: str | None = None
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None


class ChoiceDeltaFunctionCall(WireModel):
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(WireModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChoiceDeltaFunctionCall | None = None


class ChoiceDelta(WireModel):
    content: str | None = None
    function_call: ChoiceDeltaFunctionCall | None = None
    refusal: str | None = None
    role: Literal["assistant"] | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None
    # --- Relay extensions ---
    reasoning_content: str | None = None
    reasoning_signature: str | None = None
    # Relay-internal, never serialized: a redacted reasoning block (base64), which
    # /v1/messages and /v1/responses hand back so Claude can continue after it.
    redacted_reasoning: str | None = Field(default=None, exclude=True)


class ChunkChoice(WireModel):
    delta: ChoiceDelta
    finish_reason: FinishReason | None = None
    index: int
    logprobs: None = None
    stop_sequence: str | None = Field(default=None, exclude=True)  # as on Choice


class ChatCompletionChunk(WireModel):
    id: str
    choices: list[ChunkChoice]
    created: int
    model: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    service_tier: str | None = None
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
