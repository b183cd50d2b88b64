"""`/v1/classification` (control-plane spec) and `/v1/invocations` (pass-through)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from relay.protocol.base import WireModel

MAX_INPUTS = 256


class ClassificationRequest(WireModel):
    model_config = ConfigDict(extra="allow")

    model: str
    input: str | list[str] = Field(min_length=1)
    data_format: Literal["logits", "probs"] = "logits"

    def items(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class ClassificationResult(WireModel):
    index: int
    logits: dict[str, float] | None = None
    probs: dict[str, float] | None = None


class ClassificationUsage(WireModel):
    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0


class ClassificationResponse(WireModel):
    id: str
    object: Literal["list"] = "list"
    model: str
    data: list[ClassificationResult]
    usage: ClassificationUsage


class InvocationRequest(WireModel):
    # Nothing else is forwarded, so any other field would be silently lost: refuse it.
    model_config = ConfigDict(extra="forbid")

    model: str
    input: Any = None
    parameters: dict[str, Any] | None = None
