"""Rerank on Bedrock (Rerank API: Cohere Rerank 3.5, Amazon Rerank 1.0) or SageMaker TEI."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from relay.backends.bedrock.invoke import BedrockInvoker
from relay.backends.sagemaker.runtime import SageMakerRuntime
from relay.capabilities.embeddings import base_model_id
from relay.errors import BadRequestError, UpstreamError
from relay.protocol.rerank import RerankedDocument, RerankRequest, RerankResponse, RerankResult
from relay.services.resolver import ModelResolver
from relay.targets import BedrockTarget, SageMakerTarget
from relay.translate.sagemaker import tasks

# The Rerank API takes a foundation-model ARN, not an id; these are the rerankers it serves.
BEDROCK_RERANKERS = ("cohere.rerank-v3-5:0", "amazon.rerank-v1:0")


def bedrock_rerank_request(request: RerankRequest, model_arn: str) -> dict:
    sources = [
        {"type": "INLINE", "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": text}}}
        for text in request.texts()
    ]
    return {
        "queries": [{"type": "TEXT", "textQuery": {"text": request.query}}],
        "sources": sources,
        "rerankingConfiguration": {
            "type": "BEDROCK_RERANKING_MODEL",
            "bedrockRerankingConfiguration": {
                "numberOfResults": request.limit,
                "modelConfiguration": {"modelArn": model_arn},
            },
        },
    }


class RerankService:
    def __init__(
        self,
        resolver: ModelResolver,
        bedrock: BedrockInvoker,
        sagemaker: SageMakerRuntime,
        region: Callable[[], str],
    ) -> None:
        self._resolver = resolver
        self._bedrock = bedrock
        self._sagemaker = sagemaker
        self._region = region

    def rerank(self, request: RerankRequest) -> RerankResponse:
        """Blocking."""
        target = self._resolver.resolve(request.model, types=("rerank",), route="/v1/rerank")
        if isinstance(target, BedrockTarget):
            scored = self._on_bedrock(target, request)
        else:
            scored = self._on_sagemaker(target, request)
        results = []
        for index, score in scored[: request.limit]:
            if not 0 <= index < len(request.documents):
                raise UpstreamError(f"The reranker returned an unknown document index {index}")
            result = RerankResult(index=index, relevance_score=score)
            if request.return_documents:
                result.document = RerankedDocument(text=request.texts()[index])
            if request.return_metadata:
                result.metadata = request.metadata(index)
            results.append(result)
        return RerankResponse(
            id=f"rerank-{uuid.uuid4().hex[:24]}", model=request.model, data=results, results=results
        )

    def _on_bedrock(self, target: BedrockTarget, request: RerankRequest) -> list[tuple[int, float]]:
        base = base_model_id(target.id)
        if base not in BEDROCK_RERANKERS:
            raise BadRequestError(
                f"The model '{target.id}' is not served by Bedrock's Rerank API", param="model"
            )
        arn = f"arn:aws:bedrock:{self._region()}::foundation-model/{base}"
        answer = self._bedrock.rerank(target.id, bedrock_rerank_request(request, arn))
        try:
            pairs = [(int(r["index"]), float(r["relevanceScore"])) for r in answer["results"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamError("Bedrock Rerank answered in an unexpected shape") from exc
        return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))

    def _on_sagemaker(self, target: SageMakerTarget, request: RerankRequest) -> list[tuple[int, float]]:
        body = tasks.tei_rerank_body(request.query, request.texts())
        answer = self._sagemaker.invoke(target, json.dumps(body).encode())
        try:
            return tasks.parse_tei_rerank(json.loads(answer.body))
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamError(f"The model {target.id} answered in an unexpected shape") from exc
