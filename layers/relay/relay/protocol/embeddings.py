"""OpenAI embeddings, plus Relay's similarity form (`target` set) from the control-plane spec."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from relay.errors import BadRequestError
from relay.protocol.base import WireModel

EmbeddingInput = str | list[str] | list[int] | list[list[int]]
MAX_INPUTS = 2048


class EmbeddingRequest(WireModel):
    # Unknown fields are refused (a misspelt `dimension` must not pass silently).
    model_config = ConfigDict(extra="forbid")

    input: EmbeddingInput
    model: str
    dimensions: int | None = Field(default=None, ge=1, strict=True)
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None
    # --- Relay extensions ---
    # Cohere's input type (search_document, search_query, classification, clustering).
    input_type: str | None = None
    # Titan v2 and TEI: whether vectors come back unit-length (the models default to true).
    normalize: bool | None = Field(default=None, strict=True)
    # The similarity form: embed `input` and `target`, compare them.
    target: str | None = None
    cosine: bool | None = Field(default=None, strict=True)
    manhattan: bool | None = Field(default=None, strict=True)
    euclidean: bool | None = Field(default=None, strict=True)

    @model_validator(mode="after")
    def _shape(self) -> EmbeddingRequest:
        raw = self.input
        if raw == "" or raw == [] or (isinstance(raw, list) and any(x == "" or x == [] for x in raw)):
            raise BadRequestError(
                "input: must not be empty (nor hold empty strings or token lists)", param="input"
            )
        if isinstance(raw, list) and len(raw) > MAX_INPUTS:
            raise BadRequestError(f"input: at most {MAX_INPUTS} inputs per request", param="input")
        if self.target is not None:
            if not isinstance(raw, str):
                raise BadRequestError("input: with target, input must be a single string", param="input")
            if self.target == "":
                raise BadRequestError("target: must not be empty", param="target")
            if self.encoding_format != "float":
                raise BadRequestError(
                    "encoding_format: the similarity form returns float arrays only", param="encoding_format"
                )
        elif any(flag is not None for flag in (self.cosine, self.manhattan, self.euclidean)):
            raise BadRequestError("target: cosine, manhattan and euclidean need a target", param="target")
        return self

    def items(self) -> list[str] | list[list[int]]:
        """The inputs as a list: strings, or token-id lists."""
        raw = self.input
        if isinstance(raw, str):
            return [raw]
        if raw and isinstance(raw[0], int):
            return [raw]
        return raw  # type: ignore[return-value]


class Embedding(WireModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str  # str when encoding_format is base64


class EmbeddingUsage(WireModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(WireModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


class Similarity(WireModel):
    input_embedding: list[float]
    target_embedding: list[float]
    cosine_score: float | None = None
    manhattan_distance: float | None = None
    euclidean_distance: float | None = None


class SimilarityResponse(WireModel):
    id: str
    response: Similarity
