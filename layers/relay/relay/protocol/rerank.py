"""Rerank: Cohere/Jina-style request; the answer carries both `data` (the deployer's
shape, kept for clients of that SageMaker model deployer) and `results` (what Cohere and Jina read)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from relay.errors import BadRequestError
from relay.protocol.base import WireModel

MAX_DOCUMENTS = 1000


class RerankDocumentObject(WireModel):
    model_config = ConfigDict(extra="allow")  # other keys are the document's metadata

    text: str


class RerankRequest(WireModel):
    # Unknown fields (Cohere's rank_fields, max_chunks_per_doc, ...) are refused, not ignored.
    model_config = ConfigDict(extra="forbid")

    model: str
    query: str = Field(min_length=1)
    documents: list[str | RerankDocumentObject] = Field(min_length=1, max_length=MAX_DOCUMENTS)
    top_n: int | None = Field(default=None, ge=1)
    # The SageMaker deployer API's name for top_n, which its clients send.
    max_rerank: int | None = Field(default=None, ge=1)
    return_documents: bool = True
    return_metadata: bool = False

    @model_validator(mode="after")
    def _one_limit(self) -> RerankRequest:
        if self.top_n is not None and self.max_rerank is not None and self.top_n != self.max_rerank:
            raise BadRequestError("top_n and max_rerank are the same setting; send one", param="max_rerank")
        return self

    @property
    def limit(self) -> int:
        return min(self.top_n or self.max_rerank or len(self.documents), len(self.documents))

    def texts(self) -> list[str]:
        return [d if isinstance(d, str) else d.text for d in self.documents]

    def metadata(self, index: int) -> dict[str, Any]:
        document = self.documents[index]
        return {} if isinstance(document, str) else dict(document.model_extra or {})


class RerankedDocument(WireModel):
    text: str


class RerankResult(WireModel):
    index: int
    relevance_score: float
    document: RerankedDocument | None = None
    metadata: dict[str, Any] | None = None


class RerankUsage(WireModel):
    total_tokens: int = 0
    search_units: int | None = None


class RerankResponse(WireModel):
    id: str
    object: Literal["list"] = "list"
    model: str
    data: list[RerankResult]
    results: list[RerankResult]
    usage: RerankUsage = Field(default_factory=RerankUsage)
