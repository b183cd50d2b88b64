"""Embedding bodies and answers for TEI and OpenAI-compatible containers."""

from __future__ import annotations

from typing import Any

EmbeddingItems = list[str] | list[list[int]]


def tei_body(items: EmbeddingItems, normalize: bool | None) -> dict[str, Any]:
    # TEI's /embed: `inputs` is a string, a list of strings, or token ids; it truncates
    # only when told, so an over-long input is the container's 413/422, not silent loss.
    body: dict[str, Any] = {"inputs": items, "truncate": False}
    if normalize is not None:
        body["normalize"] = normalize
    return body


def parse_tei(answer: Any) -> tuple[list[list[float]], int]:
    """TEI answers a bare list of vectors and reports no token count through SageMaker."""
    if not isinstance(answer, list) or not all(isinstance(v, list) for v in answer):
        raise ValueError("TEI answered something other than a list of vectors")
    return [[float(x) for x in vector] for vector in answer], 0


def openai_body(items: EmbeddingItems, served_model: str | None, dimensions: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"input": items, "encoding_format": "float"}
    if served_model:
        body["model"] = served_model
    if dimensions is not None:
        body["dimensions"] = dimensions
    return body


def parse_openai(answer: Any) -> tuple[list[list[float]], int]:
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise ValueError("the container's answer has no `data` list")
    ordered = sorted(answer["data"], key=lambda item: item.get("index", 0))
    usage = answer.get("usage") or {}
    vectors = [[float(x) for x in item["embedding"]] for item in ordered]
    return vectors, int(usage.get("prompt_tokens", 0))
