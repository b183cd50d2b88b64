"""/v1/embeddings through the app against the Bedrock and SageMaker emulators."""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import pytest

pytestmark = [pytest.mark.functional, pytest.mark.usefixtures("sagemaker_models")]


def embed(client: Any, auth: dict[str, str], **body: Any) -> Any:
    return client.post("/v1/embeddings", json=body, headers=auth)


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("amazon.titan-embed-text-v1", 1536),
        ("amazon.titan-embed-text-v2:0", 1024),
        ("cohere.embed-english-v3", 1024),
        ("cohere.embed-v4:0", 1536),
        ("us.cohere.embed-v4:0", 1536),
        ("emu-embed/test", 384),
        ("emu-oai-embed/test", 384),
    ],
)
def test_every_backend_returns_openai_shape(client: Any, auth: dict[str, str], model: str, size: int) -> None:
    response = embed(client, auth, model=model, input=["the cat sat", "a dog barked"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list" and body["model"] == model
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert all(len(d["embedding"]) == size for d in body["data"])
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"]


@pytest.mark.parametrize("model", ["amazon.titan-embed-text-v2:0", "cohere.embed-v4:0", "emu-embed/test"])
def test_similar_texts_score_higher(client: Any, auth: dict[str, str], model: str) -> None:
    texts = ["the weather in paris is sunny", "sunny weather in paris today", "quarterly revenue grew fast"]
    vectors = [d["embedding"] for d in embed(client, auth, model=model, input=texts).json()["data"]]
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])


def test_base64_decodes_to_the_float_vector(client: Any, auth: dict[str, str]) -> None:
    for model in ("amazon.titan-embed-text-v2:0", "cohere.embed-english-v3", "emu-embed/test"):
        floats = embed(client, auth, model=model, input="hello world").json()["data"][0]["embedding"]
        encoded = embed(client, auth, model=model, input="hello world", encoding_format="base64").json()
        raw = base64.b64decode(encoded["data"][0]["embedding"])
        decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
        assert len(decoded) == len(floats)
        assert all(abs(a - b) < 1e-6 for a, b in zip(decoded, floats, strict=True))


def test_titan_usage_comes_from_the_model(client: Any, auth: dict[str, str]) -> None:
    one = embed(client, auth, model="amazon.titan-embed-text-v2:0", input="alpha beta").json()
    two = embed(client, auth, model="amazon.titan-embed-text-v2:0", input=["alpha beta", "alpha beta"]).json()
    assert one["usage"]["prompt_tokens"] > 0
    assert two["usage"]["prompt_tokens"] == 2 * one["usage"]["prompt_tokens"]


def test_dimensions_honoured_or_refused(client: Any, auth: dict[str, str]) -> None:
    ok = embed(client, auth, model="amazon.titan-embed-text-v2:0", input="x y", dimensions=256)
    assert len(ok.json()["data"][0]["embedding"]) == 256
    v4 = embed(client, auth, model="cohere.embed-v4:0", input="x y", dimensions=512)
    assert len(v4.json()["data"][0]["embedding"]) == 512
    for model, dims in (
        ("amazon.titan-embed-text-v2:0", 300),
        ("cohere.embed-english-v3", 256),
        ("emu-embed/test", 8),
    ):
        bad = embed(client, auth, model=model, input="x", dimensions=dims)
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "dimensions"
    # An OpenAI-compatible container judges dimensions itself.
    assert (
        len(
            embed(client, auth, model="emu-oai-embed/test", input="x", dimensions=64).json()["data"][0][
                "embedding"
            ]
        )
        == 64
    )


def test_cohere_batches_of_96_keep_order(client: Any, auth: dict[str, str]) -> None:
    texts = [f"document number {i}" for i in range(200)]
    body = embed(client, auth, model="cohere.embed-english-v3", input=texts).json()
    assert [d["index"] for d in body["data"]] == list(range(200))
    single = embed(client, auth, model="cohere.embed-english-v3", input=texts[150]).json()
    assert body["data"][150]["embedding"] == single["data"][0]["embedding"]


def test_cohere_input_type_changes_the_vector(client: Any, auth: dict[str, str]) -> None:
    doc = embed(client, auth, model="cohere.embed-english-v3", input="paris").json()["data"][0]["embedding"]
    query = embed(
        client, auth, model="cohere.embed-english-v3", input="paris", input_type="search_query"
    ).json()
    assert query["data"][0]["embedding"] != doc
    bad = embed(client, auth, model="amazon.titan-embed-text-v2:0", input="paris", input_type="search_query")
    assert bad.json()["error"]["param"] == "input_type"


def test_token_ids_pass_where_supported_and_are_decoded_elsewhere(client: Any, auth: dict[str, str]) -> None:
    assert embed(client, auth, model="emu-embed/test", input=[[1, 2, 3], [4, 5]]).status_code == 200
    assert embed(client, auth, model="emu-oai-embed/test", input=[1, 2, 3]).status_code == 200
    # Models that take text get the text cl100k_base ids encode ("hello world" is [15339, 1917]).
    for model in ("amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"):
        decoded = embed(client, auth, model=model, input=[[15339, 1917], [9906]])
        assert decoded.status_code == 200, decoded.text
        texts = embed(client, auth, model=model, input=["hello world", "Hello"]).json()
        assert [d["embedding"] for d in decoded.json()["data"]] == [d["embedding"] for d in texts["data"]]
    refused = embed(client, auth, model="amazon.titan-embed-text-v2:0", input=[1, 2, 10**9])
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "input"


def test_similarity_form(client: Any, auth: dict[str, str]) -> None:
    response = embed(
        client,
        auth,
        model="amazon.titan-embed-text-v2:0",
        input="capital of France",
        target="Paris is the capital of France",
        manhattan=True,
        euclidean=True,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"].startswith("emb-")
    result = body["response"]
    assert abs(result["cosine_score"] - cosine(result["input_embedding"], result["target_embedding"])) < 1e-9
    assert result["manhattan_distance"] > 0 and result["euclidean_distance"] > 0
    plain = embed(client, auth, model="emu-embed/test", input="a b", target="a b").json()["response"]
    assert abs(plain["cosine_score"] - 1.0) < 1e-9
    assert "manhattan_distance" not in plain and "euclidean_distance" not in plain


def test_errors(client: Any, auth: dict[str, str]) -> None:
    missing = embed(client, auth, model="nope/none", input="x")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    wrong_type = embed(client, auth, model="emu-chat/test", input="x")
    assert wrong_type.status_code == 400 and wrong_type.json()["error"]["param"] == "model"
    throttled = embed(client, auth, model="amazon.titan-embed-text-v2:0", input="[[fault:throttle]]")
    assert throttled.status_code == 429 and throttled.headers["retry-after"]
    container = embed(client, auth, model="emu-embed/test", input="[[fault:model-error]]")
    assert container.status_code == 502
    assert embed(client, auth, model="emu-embed/test", input="").status_code == 400
