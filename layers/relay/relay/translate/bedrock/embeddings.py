"""InvokeModel bodies and answers for Bedrock's embedding families (Titan, Cohere)."""

from __future__ import annotations

from typing import Any

from relay.capabilities.embeddings import EmbeddingCapabilities

INPUT_TOKENS_HEADER = "x-amzn-bedrock-input-token-count"


def titan_body(
    text: str, caps: EmbeddingCapabilities, dimensions: int | None, normalize: bool | None
) -> dict:
    body: dict[str, Any] = {"inputText": text}
    if caps.family == "titan-v2":
        if dimensions is not None:
            body["dimensions"] = dimensions
        if normalize is not None:
            body["normalize"] = normalize
    return body


def parse_titan(answer: dict[str, Any]) -> tuple[list[list[float]], int]:
    by_type = answer.get("embeddingsByType") or {}
    vector = by_type.get("float") or answer["embedding"]
    return [[float(v) for v in vector]], int(answer.get("inputTextTokenCount", 0))


def cohere_body(
    texts: list[str], caps: EmbeddingCapabilities, dimensions: int | None, input_type: str
) -> dict[str, Any]:
    # Always ask for floats explicitly: the answer is then `embeddings_by_type` for v3 and
    # v4 alike, and the float vectors are what OpenAI's float and base64 forms both need.
    body: dict[str, Any] = {"texts": texts, "input_type": input_type, "embedding_types": ["float"]}
    if caps.family == "cohere-v4" and dimensions is not None:
        body["output_dimension"] = dimensions
    return body


def parse_cohere(answer: dict[str, Any], headers: dict[str, str]) -> tuple[list[list[float]], int]:
    embeddings = answer["embeddings"]
    vectors = embeddings["float"] if isinstance(embeddings, dict) else embeddings
    # Cohere's body has no token count; Bedrock reports it in a response header.
    tokens = int(
        headers.get(INPUT_TOKENS_HEADER)
        or (answer.get("meta") or {}).get("billed_units", {}).get("input_tokens", 0)
    )
    return [[float(v) for v in vector] for vector in vectors], tokens
