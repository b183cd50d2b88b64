"""/v1/rerank, /v1/classification, /v1/invocations and /v1/audio/transcriptions through the emulators."""

from __future__ import annotations

import math
from typing import Any

import pytest

from relay.settings import DEFAULT_MAX_AUDIO_BYTES
from tests.functional.sagemaker_models import LABELS

pytestmark = [pytest.mark.functional, pytest.mark.usefixtures("sagemaker_models")]

DOCS = ["Berlin is the capital of Germany.", "Paris is the capital of France.", "Bananas are yellow."]


@pytest.mark.parametrize("model", ["cohere.rerank-v3-5:0", "amazon.rerank-v1:0", "emu-rerank/test"])
def test_rerank_orders_by_relevance(client: Any, auth: dict[str, str], model: str) -> None:
    body = {"model": model, "query": "What is the capital of France?", "documents": DOCS, "top_n": 2}
    response = client.post("/v1/rerank", json=body, headers=auth)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["data"] == answer["results"]
    assert [r["index"] for r in answer["results"]] == [1, 0]
    assert answer["results"][0]["document"] == {"text": DOCS[1]}
    scores = [r["relevance_score"] for r in answer["results"]]
    assert scores == sorted(scores, reverse=True)


def test_rerank_objects_metadata_and_limits(client: Any, auth: dict[str, str]) -> None:
    documents = [{"text": d, "source": f"doc-{i}"} for i, d in enumerate(DOCS)]
    body = {
        "model": "emu-rerank/test",
        "query": "yellow bananas",
        "documents": documents,
        "max_rerank": 1,
        "return_documents": False,
        "return_metadata": True,
    }
    (only,) = client.post("/v1/rerank", json=body, headers=auth).json()["results"]
    assert only["index"] == 2 and only["metadata"] == {"source": "doc-2"} and "document" not in only
    clash = client.post("/v1/rerank", json={**body, "top_n": 2}, headers=auth)
    assert clash.status_code == 400
    wrong = client.post("/v1/rerank", json={**body, "model": "emu-embed/test"}, headers=auth)
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "model"
    throttled = client.post(
        "/v1/rerank",
        json={"model": "cohere.rerank-v3-5:0", "query": "[[fault:throttle]]", "documents": DOCS},
        headers=auth,
    )
    assert throttled.status_code == 429


def test_classification_logits_and_probs(client: Any, auth: dict[str, str]) -> None:
    texts = ["great product", "terrible service"]
    logits = client.post(
        "/v1/classification", json={"model": "emu-classifier/test", "input": texts}, headers=auth
    )
    assert logits.status_code == 200, logits.text
    answer = logits.json()
    assert answer["id"].startswith("classify-") and answer["model"] == "emu-classifier/test"
    assert [d["index"] for d in answer["data"]] == [0, 1]
    assert set(answer["data"][0]["logits"]) == set(LABELS)
    probs = client.post(
        "/v1/classification",
        json={"model": "emu-classifier/test", "input": texts[0], "data_format": "probs"},
        headers=auth,
    ).json()["data"][0]["probs"]
    assert abs(sum(probs.values()) - 1) < 1e-6
    row = answer["data"][0]["logits"]
    peak = max(row.values())
    total = sum(math.exp(v - peak) for v in row.values())
    assert all(abs(probs[k] - math.exp(row[k] - peak) / total) < 1e-5 for k in LABELS)
    bad = client.post(
        "/v1/classification",
        json={"model": "emu-classifier/test", "input": "x", "data_format": "raw"},
        headers=auth,
    )
    assert bad.status_code == 400


def test_invocations_pass_through(client: Any, auth: dict[str, str]) -> None:
    sagemaker = client.post(
        "/v1/invocations",
        json={"model": "emu-tgi/test", "input": "Once upon", "parameters": {"max_new_tokens": 2}},
        headers=auth,
    )
    assert sagemaker.status_code == 200, sagemaker.text
    assert sagemaker.json()[0]["generated_text"] == "Continuing: Once"
    bedrock = client.post(
        "/v1/invocations",
        json={
            "model": "amazon.titan-embed-text-v2:0",
            "input": {"inputText": "hi"},
            "parameters": {"dimensions": 256},
        },
        headers=auth,
    )
    assert bedrock.status_code == 200 and len(bedrock.json()["embedding"]) == 256
    assert (
        client.post(
            "/v1/invocations", json={"model": "emu-tgi/test", "stream": True}, headers=auth
        ).status_code
        == 400
    )
    rejected = client.post("/v1/invocations", json={"model": "emu-rerank/test", "input": "x"}, headers=auth)
    assert rejected.status_code == 422 and rejected.json()["error"]["code"] == "model_error"


def transcribe(client: Any, auth: dict[str, str], audio: bytes, **fields: Any) -> Any:
    data = {"model": "emu-whisper/test", **fields}
    return client.post(
        "/v1/audio/transcriptions", data=data, files={"file": ("a.wav", audio, "audio/wav")}, headers=auth
    )


def test_transcription_formats(client: Any, auth: dict[str, str]) -> None:
    audio = bytes(range(256)) * 40
    plain = transcribe(client, auth, audio)
    assert plain.status_code == 200, plain.text
    text = plain.json()["text"]
    assert text and transcribe(client, auth, audio).json()["text"] == text  # deterministic
    assert transcribe(client, auth, audio[:-1] + b"x").json()["text"] != text
    assert transcribe(client, auth, audio, response_format="text").text == text + "\n"
    srt = transcribe(client, auth, audio, response_format="srt").text
    assert srt.startswith("1\n00:00:00,000 --> 00:00:02,500\n")
    assert transcribe(client, auth, audio, response_format="vtt").text.startswith("WEBVTT\n\n00:00:00.000")
    verbose = transcribe(client, auth, audio, response_format="verbose_json", language="de").json()
    assert verbose["language"] == "de" and verbose["duration"] == verbose["segments"][-1]["end"]
    assert " ".join(s["text"] for s in verbose["segments"]) == text


def test_transcription_limits_and_errors(client: Any, auth: dict[str, str]) -> None:
    too_big = transcribe(client, auth, b"\0" * (DEFAULT_MAX_AUDIO_BYTES + 1))
    assert too_big.status_code == 413 and too_big.json()["error"]["param"] == "file"
    assert transcribe(client, auth, b"abc", response_format="xml").status_code == 400
    words = transcribe(client, auth, b"abc", **{"timestamp_granularities[]": "word"})
    assert words.status_code == 400
    assert transcribe(client, auth, b"").status_code == 400
