"""`bedrock-runtime` InvokeModel for the embedding models: Titan v1/v2 and Cohere v3/v4.

Vectors come from `vectors.embed` (deterministic, similar texts point the same way).
Bodies and answers follow each family's documented InvokeModel format; the input token
count is also sent in the `X-Amzn-Bedrock-Input-Token-Count` header, as Bedrock does.
"""

from __future__ import annotations

import json
from typing import Any

from local.emulators import faults, vectors
from local.emulators.server import Request, Response, Router, aws_error

# base model id -> (family, default dimensions, allowed dimensions)
EMBEDDING_MODELS: dict[str, tuple[str, int, tuple[int, ...]]] = {
    "amazon.titan-embed-text-v1": ("titan-v1", 1536, (1536,)),
    "amazon.titan-embed-text-v2:0": ("titan-v2", 1024, (256, 512, 1024)),
    "cohere.embed-english-v3": ("cohere-v3", 1024, (1024,)),
    "cohere.embed-multilingual-v3": ("cohere-v3", 1024, (1024,)),
    "cohere.embed-v4:0": ("cohere-v4", 1536, (256, 512, 1024, 1536)),
}
_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.")
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
COHERE_TYPES = ("float", "int8", "uint8", "binary", "ubinary")


class _Invalid(Exception):
    pass


def _base(model_id: str) -> str:
    for prefix in _PROFILE_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :]
    return model_id


def _titan(family: str, body: dict[str, Any], default: int, allowed: tuple[int, ...]) -> tuple[dict, int]:
    text = body.get("inputText")
    if not isinstance(text, str) or not text:
        raise _Invalid("inputText must be a non-empty string")
    if family == "titan-v1" and set(body) - {"inputText"}:
        raise _Invalid(f"extraneous key [{sorted(set(body) - {'inputText'})[0]}] is not permitted")
    dimensions = body.get("dimensions", default)
    if dimensions not in allowed:
        raise _Invalid(f"dimensions must be one of {list(allowed)}")
    normalize = body.get("normalize", True) if family == "titan-v2" else False
    vector = vectors.embed(text, dimensions, normalize=normalize)
    tokens = vectors.token_count(text)
    answer: dict[str, Any] = {"embedding": vector, "inputTextTokenCount": tokens}
    if family == "titan-v2":
        by_type: dict[str, Any] = {}
        for kind in body.get("embeddingTypes") or ["float"]:
            if kind not in ("float", "binary"):
                raise _Invalid("embeddingTypes may hold float and binary")
            by_type[kind] = vector if kind == "float" else [1 if v > 0 else 0 for v in vector]
        answer["embeddingsByType"] = by_type
    return answer, tokens


def _cohere(family: str, body: dict[str, Any], default: int, allowed: tuple[int, ...]) -> tuple[dict, int]:
    texts = body.get("texts")
    if not isinstance(texts, list) or not 0 < len(texts) <= 96:
        raise _Invalid("texts must hold between 1 and 96 strings")
    input_type = body.get("input_type")
    if input_type not in COHERE_INPUT_TYPES:
        raise _Invalid(f"input_type must be one of {list(COHERE_INPUT_TYPES)}")
    dimensions = body.get("output_dimension", default) if family == "cohere-v4" else default
    if dimensions not in allowed:
        raise _Invalid(f"output_dimension must be one of {list(allowed)}")
    floats = [vectors.embed(t, dimensions, salt=input_type) for t in texts]
    tokens = sum(vectors.token_count(t) for t in texts)
    kinds = body.get("embedding_types")
    answer: dict[str, Any] = {"id": "emb-emulated", "texts": texts}
    if not kinds and family == "cohere-v3":
        answer.update(embeddings=floats, response_type="embeddings_floats")
        return answer, tokens
    converters = {
        "float": lambda v: v,
        "int8": vectors.int8,
        "uint8": vectors.uint8,
        "binary": lambda v: vectors.packed_bits(v, signed=True),
        "ubinary": lambda v: vectors.packed_bits(v, signed=False),
    }
    by_type = {}
    for kind in kinds or ["float"]:
        if kind not in COHERE_TYPES:
            raise _Invalid(f"embedding_types must be among {list(COHERE_TYPES)}")
        by_type[kind] = [converters[kind](v) for v in floats]
    answer.update(embeddings=by_type, response_type="embeddings_by_type")
    return answer, tokens


def invoke_model(request: Request) -> Response:
    failed = faults.fault_response(request.body, faults.BEDROCK_FAULTS)
    if failed is not None:
        return failed
    model_id = request.params["model_id"]
    found = EMBEDDING_MODELS.get(_base(model_id))
    if found is None:
        return aws_error(
            400,
            "ValidationException",
            f"The emulator's InvokeModel serves embedding models only, not {model_id}",
        )
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return aws_error(400, "ValidationException", "Malformed input request: body is not JSON")
    family, default, allowed = found
    faults.sleep(faults.first_delay(request.body))
    try:
        handler = _titan if family.startswith("titan") else _cohere
        answer, tokens = handler(family, body, default, allowed)
    except _Invalid as exc:
        return aws_error(400, "ValidationException", f"Malformed input request: {exc}")
    return Response.json(answer, headers={"X-Amzn-Bedrock-Input-Token-Count": str(tokens)})


def register(router: Router) -> None:
    router.add("POST", "/model/(?P<model_id>[^/]+)/invoke", invoke_model)
