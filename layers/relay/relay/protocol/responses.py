"""OpenAI Responses API (`/v1/responses`): request, input and output items, the Response object.

Fields follow OpenAI's order. Input items arrive as plain objects (an "easy" message has
no `type`), so `input` is parsed item by item by the translator, which names the failing
`input[i]` in its 400s. Output items are plain dicts on the wire model: they are built by
one set of functions and stored as they were sent.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import ConfigDict, Field

from relay.protocol.base import WireModel
from relay.protocol.chat import ReasoningEffort, StreamOptions

# --- input items ---------------------------------------------------------------------


class InputText(WireModel):
    type: Literal["input_text", "output_text"]
    text: str


class InputImage(WireModel):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class InputFile(WireModel):
    type: Literal["input_file"]
    file_data: str | None = None
    file_id: str | None = None
    file_url: str | None = None
    filename: str | None = None


class Refusal(WireModel):
    type: Literal["refusal"]
    refusal: str


class MessageItem(WireModel):
    model_config = ConfigDict(extra="allow")  # `id`, `status` of echoed output items

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[dict[str, Any]]


class FunctionCallItem(WireModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str | None = None


class FunctionCallOutputItem(WireModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function_call_output"]
    call_id: str
    output: str | list[dict[str, Any]]
    id: str | None = None


class SummaryText(WireModel):
    type: Literal["summary_text"] = "summary_text"
    text: str


class ReasoningItem(WireModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["reasoning"]
    id: str | None = None
    summary: list[SummaryText] = Field(default_factory=list)
    encrypted_content: str | None = None


# --- request -------------------------------------------------------------------------


class FormatText(WireModel):
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    model_config = ConfigDict(populate_by_name=True)


class TextConfig(WireModel):
    model_config = ConfigDict(extra="allow")  # `verbosity` is refused by name

    format: FormatText = Field(default_factory=FormatText)


class ReasoningConfig(WireModel):
    effort: ReasoningEffort | Literal["none"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


Include = Literal["reasoning.encrypted_content"]


class ResponseCreateRequest(WireModel):
    model_config = ConfigDict(extra="allow")

    model: str
    input: str | list[dict[str, Any]]
    # Numbers and flags are strict, as on the chat models: "10" or "yes" is a 400.
    background: bool | None = Field(default=None, strict=True)
    include: list[str] | None = None
    instructions: str | None = None
    max_output_tokens: int | None = Field(default=None, ge=1, strict=True)
    metadata: dict[str, str] | None = None
    parallel_tool_calls: bool | None = Field(default=None, strict=True)
    previous_response_id: str | None = None
    # A routing hint for OpenAI's prompt cache. Bedrock caches by cache point, with no key to
    # route on, so the hint is accepted (Codex sends it on every call) and needs no action.
    prompt_cache_key: str | None = None
    reasoning: ReasoningConfig | None = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    store: bool | None = Field(default=True, strict=True)
    stream: bool | None = Field(default=False, strict=True)
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, strict=True)
    text: TextConfig | None = None
    tool_choice: str | dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    top_p: float | None = Field(default=None, ge=0.0, le=1.0, strict=True)
    truncation: Literal["auto", "disabled"] | None = None
    user: str | None = None

    @property
    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


# --- the Response object -------------------------------------------------------------

Status = Literal["completed", "incomplete", "failed", "in_progress"]


class InputTokensDetails(WireModel):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(WireModel):
    reasoning_tokens: int = 0


class ResponseUsage(WireModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class IncompleteDetails(WireModel):
    reason: Literal["max_output_tokens", "content_filter"]


class ResponseError(WireModel):
    code: str
    message: str


def _now() -> int:
    return int(time.time())


class Response(WireModel):
    # Echoed request fields are kept even when null: the SDK reads them as attributes.
    id: str
    object: Literal["response"] = "response"
    created_at: int = Field(default_factory=_now)
    status: Status
    background: bool = False
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    model: str
    output: list[dict[str, Any]] = Field(default_factory=list)
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    prompt_cache_key: str | None = None
    reasoning: dict[str, Any] = Field(default_factory=lambda: {"effort": None, "summary": None})
    safety_identifier: str | None = None
    service_tier: str | None = None
    store: bool = True
    temperature: float | None = None
    text: dict[str, Any] = Field(default_factory=lambda: {"format": {"type": "text"}})
    tool_choice: str | dict[str, Any] = "auto"
    tools: list[dict[str, Any]] = Field(default_factory=list)
    top_p: float | None = None
    truncation: str = "disabled"
    usage: ResponseUsage | None = None
    user: str | None = None


class DeletedResponse(WireModel):
    id: str
    object: Literal["response.deleted"] = "response.deleted"
    deleted: bool = True


class InputItemList(WireModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
