"""What each embedding model accepts: dimensions, batch size, token ids, knobs. Data, not code."""

from __future__ import annotations

from dataclasses import dataclass

# Bedrock profile ids carry a geography prefix in front of the base model id.
_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "global.", "jp.", "au.", "ca.")


@dataclass(frozen=True)
class EmbeddingCapabilities:
    family: str
    # Allowed `dimensions`; () means the model has one fixed size and refuses the parameter,
    # None means the container decides (its 4xx comes back as a 400).
    dimensions: tuple[int, ...] | None
    max_batch: int  # inputs per backend call
    token_ids: bool  # accepts pre-tokenised input (OpenAI's list[int] form)
    normalize: bool  # honours a `normalize` switch
    input_type: bool  # honours Cohere's `input_type`


TITAN_V1 = EmbeddingCapabilities("titan-v1", (), 1, token_ids=False, normalize=False, input_type=False)
TITAN_V2 = EmbeddingCapabilities(
    "titan-v2", (256, 512, 1024), 1, token_ids=False, normalize=True, input_type=False
)
COHERE_V3 = EmbeddingCapabilities("cohere-v3", (), 96, token_ids=False, normalize=False, input_type=True)
COHERE_V4 = EmbeddingCapabilities(
    "cohere-v4", (256, 512, 1024, 1536), 96, token_ids=False, normalize=False, input_type=True
)
# TEI's /embed takes token ids and a normalize flag; its vectors have the model's one size.
TEI = EmbeddingCapabilities("tei", (), 32, token_ids=True, normalize=True, input_type=False)
# OpenAI-compatible servers (vLLM, SGLang) take everything OpenAI's API does and judge
# `dimensions` themselves (Matryoshka models accept it, others answer 400).
OPENAI_COMPATIBLE = EmbeddingCapabilities(
    "openai", None, 256, token_ids=True, normalize=False, input_type=False
)

BEDROCK_EMBEDDINGS: dict[str, EmbeddingCapabilities] = {
    "amazon.titan-embed-text-v1": TITAN_V1,
    "amazon.titan-embed-g1-text-02": TITAN_V1,
    "amazon.titan-embed-text-v2": TITAN_V2,
    "cohere.embed-english-v3": COHERE_V3,
    "cohere.embed-multilingual-v3": COHERE_V3,
    "cohere.embed-v4": COHERE_V4,
}
SAGEMAKER_EMBEDDINGS: dict[str, EmbeddingCapabilities] = {
    "tei-embedding": TEI,
    "openai": OPENAI_COMPATIBLE,
}
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
DEFAULT_COHERE_INPUT_TYPE = "search_document"


def base_model_id(model_id: str) -> str:
    """`us.cohere.embed-v4:0` -> `cohere.embed-v4:0`."""
    for prefix in _PROFILE_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :]
    return model_id


def bedrock_embedding_capabilities(model_id: str) -> EmbeddingCapabilities | None:
    base = base_model_id(model_id).split(":", 1)[0]
    return BEDROCK_EMBEDDINGS.get(base)
