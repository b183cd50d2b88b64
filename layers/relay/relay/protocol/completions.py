"""OpenAI legacy completions (`/v1/completions`): request, response and chunk models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from relay.protocol.base import WireModel
from relay.protocol.chat import CompletionUsage, StreamOptions


class CompletionRequest(WireModel):
    model_config = ConfigDict(extra="allow")

    model: str
    prompt: str | list[str] | list[int] | list[list[int]]
    best_of: int | None = Field(default=None, ge=1, le=20, strict=True)
    echo: bool | None = Field(default=None, strict=True)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0, strict=True)
    logit_bias: dict[str, float] | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5, strict=True)
    max_tokens: int | None = Field(default=None, ge=1, strict=True)
    n: int | None = Field(default=None, ge=1, le=128, strict=True)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0, strict=True)
    seed: int | None = Field(default=None, strict=True)
    stop: str | list[str] | None = None
    stream: bool | None = Field(default=False, strict=True)
    stream_options: StreamOptions | None = None
    suffix: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, strict=True)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0, strict=True)
    user: str | None = None

    @property
    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class CompletionLogprobs(WireModel):
    """Token log probabilities, as OpenAI-compatible containers (vLLM, SGLang) return them."""

    text_offset: list[int] | None = None
    token_logprobs: list[float | None] | None = None
    tokens: list[str] | None = None
    top_logprobs: list[dict[str, float] | None] | None = None


class CompletionChoice(WireModel):
    finish_reason: Literal["stop", "length", "content_filter"] | None
    index: int
    # Only completions served by a container itself carry these; chat models have none.
    logprobs: CompletionLogprobs | None = None
    text: str


class Completion(WireModel):
    id: str
    choices: list[CompletionChoice]
    created: int
    model: str
    object: Literal["text_completion"] = "text_completion"
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
