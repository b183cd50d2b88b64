"""Pure SageMaker translators and the SageMaker error table."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from relay.backends.sagemaker.errors import map_sagemaker_error
from relay.errors import BadRequestError, RelayError
from relay.protocol.chat import ChatCompletionRequest
from relay.translate.sagemaker import chat, embeddings, tasks, whisper

pytestmark = pytest.mark.unit


def client_error(code: str, message: str = "m", **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, **extra}, "InvokeEndpoint")


@pytest.mark.parametrize(
    ("error", "status", "retry"),
    [
        (client_error("ModelError", OriginalStatusCode=400, OriginalMessage="bad"), 400, None),
        (client_error("ModelError", OriginalStatusCode=422), 422, None),
        (client_error("ModelError", OriginalStatusCode=500), 502, None),
        (client_error("ModelError"), 502, None),
        (client_error("ValidationError", "Endpoint x of account 1 not found."), 404, None),
        (client_error("ValidationError", "Inference Component ic not found"), 404, None),
        (client_error("ValidationError", "Body too large"), 400, None),
        (client_error("ModelNotReadyException"), 503, "10"),
        (client_error("ThrottlingException"), 429, "1"),
        (client_error("InternalDependencyException"), 503, "5"),
        (client_error("ServiceUnavailable"), 503, "5"),
        (client_error("InternalFailure"), 503, "5"),
        (client_error("ModelStreamError"), 502, None),
        (ReadTimeoutError(endpoint_url="http://x"), 504, None),
    ],
)
def test_error_table(error: Exception, status: int, retry: str | None) -> None:
    mapped = map_sagemaker_error(error, "m/dev")
    assert isinstance(mapped, RelayError)
    assert mapped.status == status
    assert mapped.headers.get("Retry-After") == retry
    if status == 404:
        assert mapped.code == "model_not_found"


def request(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "qwen/dev", "messages": [{"role": "user", "content": "hi"}], **fields}
    )


def test_chat_body_passes_through_with_model_fixed() -> None:
    body = chat.to_container(request(temperature=0.2, repetition_penalty=1.1), "openai", None, stream=False)
    assert "model" not in body and body["temperature"] == 0.2 and body["repetition_penalty"] == 1.1
    named = chat.to_container(request(), "openai", "Qwen/Qwen2.5-7B", stream=True)
    assert named["model"] == "Qwen/Qwen2.5-7B" and named["stream_options"] == {"include_usage": True}


def test_chat_body_refuses_what_cannot_be_honoured() -> None:
    with pytest.raises(BadRequestError) as caught:
        chat.to_container(request(n=2), "tgi", None, stream=False)
    assert caught.value.param == "n"
    with pytest.raises(BadRequestError) as caught:
        chat.to_container(request(logprobs=True), "openai", None, stream=False)
    assert caught.value.param == "logprobs"


def test_stream_chunks_drop_unrequested_usage() -> None:
    state = chat.ChunkState(model="qwen/dev", include_usage=False)
    usage = '{"id":"c","created":1,"model":"x","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}'
    assert chat.event_to_chunks(usage, state) == []
    assert state.usage is not None and state.usage.total_tokens == 3
    delta = '{"id":"c","created":1,"model":"x","choices":[{"index":0,"delta":{"content":"a"}}]}'
    (chunk,) = chat.event_to_chunks(delta, state)
    assert chunk.model == "qwen/dev" and chunk.choices[0].delta.content == "a"


def test_embedding_bodies_and_answers() -> None:
    assert embeddings.tei_body(["a"], None) == {"inputs": ["a"], "truncate": False}
    assert embeddings.parse_tei([[1, 2], [3, 4]]) == ([[1.0, 2.0], [3.0, 4.0]], 0)
    answer = {
        "data": [{"index": 1, "embedding": [2]}, {"index": 0, "embedding": [1]}],
        "usage": {"prompt_tokens": 7},
    }
    assert embeddings.parse_openai(answer) == ([[1.0], [2.0]], 7)
    with pytest.raises(ValueError):
        embeddings.parse_tei({"error": "x"})


def test_classifier_labels_and_softmax() -> None:
    answer = [[{"label": "LABEL_1", "score": 2.0}, {"label": "LABEL_0", "score": 0.0}]]
    rows = tasks.parse_classifier(answer, 1, ("neg", "pos"))
    assert rows == [{"pos": 2.0, "neg": 0.0}]
    probs = tasks.softmax(rows[0])
    assert abs(sum(probs.values()) - 1) < 1e-9 and probs["pos"] > probs["neg"]
    assert tasks.parse_classifier([{"label": "spam", "score": 1.0}], 1, ()) == [{"spam": 1.0}]


def test_rerank_answer_sorted() -> None:
    assert tasks.parse_tei_rerank([{"index": 0, "score": 0.1}, {"index": 1, "score": 0.9}]) == [
        (1, 0.9),
        (0, 0.1),
    ]


def test_whisper_formats() -> None:
    transcript = whisper.parse_whisper(
        {
            "text": ["Hello there.", "General."],
            "chunks": [
                {"timestamp": [0.0, 1.5], "text": " Hello there."},
                {"timestamp": [1.5, 3661.25], "text": "General."},
            ],
        }
    )
    assert transcript.text == "Hello there. General." and transcript.duration == 3661.25
    assert whisper.to_srt(transcript).splitlines()[:3] == [
        "1",
        "00:00:00,000 --> 00:00:01,500",
        "Hello there.",
    ]
    assert "01:01:01.250" in whisper.to_vtt(transcript) and whisper.to_vtt(transcript).startswith("WEBVTT")
    verbose = whisper.to_verbose(transcript, "en")
    assert verbose["segments"][1]["start"] == 1.5 and verbose["language"] == "en"
    body = whisper.whisper_body(b"\x00\x01", language="en", prompt=None, temperature=0.0)
    assert body == {
        "inputs": "AAE=",
        "parameters": {"return_timestamps": True, "language": "en", "temperature": 0.0},
    }
