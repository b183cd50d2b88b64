"""`bedrock-agent-runtime` Rerank: relevance by word overlap between query and document.

Answers follow the Rerank API: results sorted by `relevanceScore`, at most
`numberOfResults`, each with the source `index`. The model ARN must name a reranker.
"""

from __future__ import annotations

import json
from typing import Any

from local.emulators import faults, vectors
from local.emulators.server import Request, Response, Router, aws_error

RERANK_MODELS = ("cohere.rerank-v3-5:0", "amazon.rerank-v1:0")


def _document_text(source: dict[str, Any]) -> str:
    document = source.get("inlineDocumentSource") or {}
    if document.get("type") == "JSON":
        return json.dumps(document.get("jsonDocument", {}))
    return str((document.get("textDocument") or {}).get("text", ""))


def rerank(request: Request) -> Response:
    failed = faults.fault_response(request.body, faults.BEDROCK_FAULTS)
    if failed is not None:
        return failed
    body = json.loads(request.body or b"{}")
    config = (body.get("rerankingConfiguration") or {}).get("bedrockRerankingConfiguration") or {}
    arn = (config.get("modelConfiguration") or {}).get("modelArn", "")
    if not any(arn.endswith("foundation-model/" + m) for m in RERANK_MODELS):
        return aws_error(404, "ResourceNotFoundException", f"Model {arn} is not a reranking model")
    queries = body.get("queries") or []
    sources = body.get("sources") or []
    if len(queries) != 1 or not sources:
        return aws_error(400, "ValidationException", "Rerank needs one query and at least one source")
    if len(sources) > 1000:
        return aws_error(400, "ValidationException", "sources: at most 1000 documents")
    query = str((queries[0].get("textQuery") or {}).get("text", ""))
    faults.sleep(faults.first_delay(request.body))
    scored = [
        {"index": i, "relevanceScore": vectors.relevance(query, _document_text(s))}
        for i, s in enumerate(sources)
    ]
    scored.sort(key=lambda r: (-r["relevanceScore"], r["index"]))
    limit = config.get("numberOfResults") or len(scored)
    return Response.json({"results": scored[:limit]})


def register(router: Router) -> None:
    router.add("POST", "/rerank", rerank)
