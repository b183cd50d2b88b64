"""`GET /v1/models`: OpenAI's list and model shapes plus Relay's catalogue fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from relay.protocol.base import WireModel

ModelType = Literal["chat", "completion", "embeddings", "rerank", "classification", "transcription"]


class Model(WireModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    # Relay's own fields (ARCHITECTURE.md, "API surface").
    name: str
    type: ModelType
    parameter_template: dict[str, Any] = Field(default_factory=dict)
    support_serverless: bool


class ModelList(WireModel):
    object: Literal["list"] = "list"
    data: list[Model]
