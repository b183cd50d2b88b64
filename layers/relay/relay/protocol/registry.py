"""Admin registration of SageMaker endpoints as models (`/v1/admin/models`)."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from relay.protocol.base import WireModel
from relay.protocol.models import ModelType
from relay.targets import Flavour

FLAVOURS: tuple[str, ...] = get_args(Flavour)
# The types each container flavour can serve; the first is the default.
FLAVOUR_TYPES: dict[str, tuple[str, ...]] = {
    "openai": ("chat", "completion", "embeddings"),
    "tgi": ("chat", "completion"),
    "tei-embedding": ("embeddings",),
    "tei-rerank": ("rerank",),
    "whisper": ("transcription",),
    "classifier": ("classification",),
}
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$"
_ENDPOINT = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"


class RegisterModelRequest(WireModel):
    id: str = Field(pattern=_NAME, description="`name/tag`; a bare name means `name/dev`")
    endpoint_name: str = Field(pattern=_ENDPOINT)
    inference_component: str | None = Field(default=None, pattern=_ENDPOINT)
    flavour: Flavour
    type: ModelType | None = None
    labels: list[str] | None = None
    parameter_template: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    # Relay's own switch: skip DescribeEndpoint, for endpoints that are still being
    # created elsewhere or that this account's role cannot describe.
    check_endpoint: bool = True
    overwrite: bool = False

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: list[str] | None) -> list[str] | None:
        if labels is not None and (not labels or len(set(labels)) != len(labels) or not all(labels)):
            raise ValueError("labels must be distinct, non-empty strings")
        return labels

    @model_validator(mode="after")
    def _consistent(self) -> RegisterModelRequest:
        allowed = FLAVOUR_TYPES[self.flavour]
        if self.type is None:
            self.type = allowed[0]  # type: ignore[assignment]
        elif self.type not in allowed:
            raise ValueError(f"type: a {self.flavour} container serves {', '.join(allowed)}, not {self.type}")
        if self.labels is not None and self.flavour != "classifier":
            raise ValueError("labels: only classifier models have labels")
        return self


class RegisteredModel(WireModel):
    id: str
    object: Literal["model"] = "model"
    name: str
    tag: str
    endpoint_name: str
    inference_component: str | None = None
    flavour: str
    type: str
    labels: list[str] = Field(default_factory=list)
    parameter_template: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created: int
    # Only on registration: what DescribeEndpoint said ("unknown" when it could not tell).
    endpoint_status: str | None = None


class RegisteredModelList(WireModel):
    object: Literal["list"] = "list"
    data: list[RegisteredModel]


class DeletedModel(WireModel):
    id: str
    object: Literal["model"] = "model"
    deleted: bool = True
