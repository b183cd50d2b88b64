"""Embeddings for every backend: validation against the capabilities table, batching,
bounded concurrency, encoding, and the similarity form."""

from __future__ import annotations

import base64
import json
import math
import struct
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from relay.backends.bedrock.invoke import BedrockInvoker
from relay.backends.sagemaker.runtime import SageMakerRuntime
from relay.capabilities.embeddings import (
    COHERE_INPUT_TYPES,
    DEFAULT_COHERE_INPUT_TYPE,
    SAGEMAKER_EMBEDDINGS,
    EmbeddingCapabilities,
    bedrock_embedding_capabilities,
)
from relay.errors import BadRequestError, UpstreamError
from relay.protocol.embeddings import (
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
    Similarity,
    SimilarityResponse,
)
from relay.services.resolver import ModelResolver
from relay.services.usage.meter import count_tokens
from relay.targets import BedrockTarget, SageMakerTarget, Target
from relay.translate.bedrock import embeddings as bedrock_tx
from relay.translate.sagemaker import embeddings as sagemaker_tx
from relay.translate.token_ids import decode_token_ids

Batch = list[str] | list[list[int]]
Result = tuple[list[list[float]], int]


def encode_base64(vector: list[float]) -> str:
    """OpenAI's base64 form: little-endian float32s."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def similarity(a: list[float], b: list[float], request: EmbeddingRequest) -> Similarity:
    if len(a) != len(b):
        raise UpstreamError("The model returned vectors of different sizes for input and target")
    result = Similarity(input_embedding=a, target_embedding=b)
    if request.cosine is not False:
        norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
        result.cosine_score = sum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0
    if request.manhattan:
        result.manhattan_distance = sum(abs(x - y) for x, y in zip(a, b, strict=True))
    if request.euclidean:
        result.euclidean_distance = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))
    return result


class EmbeddingService:
    def __init__(
        self,
        resolver: ModelResolver,
        bedrock: BedrockInvoker,
        sagemaker: SageMakerRuntime,
        *,
        max_concurrency: int,
    ) -> None:
        self._resolver = resolver
        self._bedrock = bedrock
        self._sagemaker = sagemaker
        self._max_concurrency = max_concurrency

    def create(self, request: EmbeddingRequest) -> EmbeddingResponse | SimilarityResponse:
        """Blocking: runs the backend calls on a bounded thread pool."""
        target = self._resolver.resolve(request.model, types=("embeddings",), route="/v1/embeddings")
        caps, call = self._plan(target, request)
        items: Batch = request.items()
        if items and not isinstance(items[0], str) and not caps.token_ids:
            # OpenAI clients (LangChain's OpenAIEmbeddings by default) send cl100k_base ids.
            items = decode_token_ids(items)
        if request.target is not None:
            items = [*items, request.target]
        batches = [items[i : i + caps.max_batch] for i in range(0, len(items), caps.max_batch)]
        workers = max(1, min(self._max_concurrency, len(batches)))
        if workers == 1:
            results = [call(batch) for batch in batches]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embed") as pool:
                results = list(pool.map(call, batches))
        vectors = [vector for batch_vectors, _ in results for vector in batch_vectors]
        if len(vectors) != len(items):
            raise UpstreamError(f"The model returned {len(vectors)} vectors for {len(items)} inputs")
        tokens = sum(count for _, count in results)
        count_tokens(request.model, input_tokens=tokens)
        if request.target is not None:
            return SimilarityResponse(
                id=f"emb-{uuid.uuid4().hex[:24]}", response=similarity(vectors[0], vectors[1], request)
            )
        data = [
            Embedding(index=i, embedding=encode_base64(v) if request.encoding_format == "base64" else v)
            for i, v in enumerate(vectors)
        ]
        return EmbeddingResponse(
            data=data, model=request.model, usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens)
        )

    def _plan(self, target: Target, request: EmbeddingRequest) -> tuple[EmbeddingCapabilities, Callable]:
        if isinstance(target, BedrockTarget):
            found = bedrock_embedding_capabilities(target.id)
        else:
            found = SAGEMAKER_EMBEDDINGS.get(target.flavour)
        if found is None:
            raise BadRequestError(
                f"Relay has no embeddings adapter for the model '{request.model}'", param="model"
            )
        caps: EmbeddingCapabilities = found
        _check(caps, request)
        if isinstance(target, BedrockTarget):
            return caps, self._bedrock_call(target, caps, request)
        return caps, self._sagemaker_call(target, caps, request)

    def _bedrock_call(
        self, target: BedrockTarget, caps: EmbeddingCapabilities, request: EmbeddingRequest
    ) -> Callable:
        if caps.family.startswith("titan"):

            def titan(batch: list[str]) -> Result:
                body = bedrock_tx.titan_body(batch[0], caps, request.dimensions, request.normalize)
                answer, _ = self._bedrock.invoke_model(target.id, body)
                return _parsed(bedrock_tx.parse_titan, answer, target.id)

            return titan
        input_type = request.input_type or DEFAULT_COHERE_INPUT_TYPE

        def cohere(batch: list[str]) -> Result:
            body = bedrock_tx.cohere_body(batch, caps, request.dimensions, input_type)
            answer, headers = self._bedrock.invoke_model(target.id, body)
            return _parsed(lambda a: bedrock_tx.parse_cohere(a, headers), answer, target.id)

        return cohere

    def _sagemaker_call(
        self, target: SageMakerTarget, caps: EmbeddingCapabilities, request: EmbeddingRequest
    ) -> Callable:
        def call(batch: Batch) -> Result:
            if caps.family == "tei":
                body = sagemaker_tx.tei_body(batch, request.normalize)
                parse: Callable[[Any], Result] = sagemaker_tx.parse_tei
            else:
                served = target.metadata.get("served_model_name")
                body = sagemaker_tx.openai_body(batch, served, request.dimensions)
                parse = sagemaker_tx.parse_openai
            answer = self._sagemaker.invoke(target, json.dumps(body).encode())
            try:
                decoded = json.loads(answer.body)
            except ValueError as exc:
                raise UpstreamError(f"The model {target.id} answered with malformed JSON") from exc
            return _parsed(parse, decoded, target.id)

        return call


def _parsed(parse: Callable[[Any], Result], answer: Any, model: str) -> Result:
    try:
        return parse(answer)
    except (KeyError, TypeError, ValueError) as exc:
        raise UpstreamError(f"The model {model} answered in an unexpected shape") from exc


def _check(caps: EmbeddingCapabilities, request: EmbeddingRequest) -> None:
    """Refuse what this model cannot honour, naming the parameter."""
    name = request.model
    if caps.dimensions == () and request.dimensions is not None:
        raise BadRequestError(
            f"The model '{name}' has a fixed vector size; remove dimensions", param="dimensions"
        )
    if caps.dimensions and request.dimensions is not None and request.dimensions not in caps.dimensions:
        allowed = ", ".join(str(d) for d in caps.dimensions)
        raise BadRequestError(f"The model '{name}' supports dimensions {allowed}", param="dimensions")
    if request.normalize is not None and not caps.normalize:
        raise BadRequestError(f"The model '{name}' has no normalize switch", param="normalize")
    if request.input_type is not None:
        if not caps.input_type:
            raise BadRequestError(f"The model '{name}' takes no input_type", param="input_type")
        if request.input_type not in COHERE_INPUT_TYPES:
            raise BadRequestError(
                f"input_type must be one of {', '.join(COHERE_INPUT_TYPES)}", param="input_type"
            )
