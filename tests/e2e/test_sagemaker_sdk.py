"""The openai SDK (and plain httpx) against uvicorn: embeddings, SageMaker chat streaming,
rerank, classification, invocations and transcription."""

from __future__ import annotations

import base64
import struct
from typing import Any

import httpx
import openai
import pytest

from tests.functional.sagemaker_models import register_all

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def http(live_server: str, admin_key: str) -> Any:
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    ) as c:
        register_all(_Prefixless(c), {})
        yield c


class _Prefixless:
    """Lets the shared registration helper post `/v1/...` paths against a base URL ending in /v1."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.pop("headers", None)
        return self.client.post(path.removeprefix("/v1"), **kwargs)


def test_embeddings_float_and_base64(openai_client: Any, http: Any) -> None:
    for model in ("amazon.titan-embed-text-v2:0", "cohere.embed-v4:0", "emu-embed/test"):
        floats = openai_client.embeddings.create(model=model, input=["hello world", "bye"])
        assert len(floats.data) == 2 and isinstance(floats.data[0].embedding[0], float)
        raw = openai_client.embeddings.with_raw_response.create(
            model=model, input="hello world", encoding_format="base64"
        ).http_response.json()
        decoded = struct.unpack(
            f"<{len(floats.data[0].embedding)}f", base64.b64decode(raw["data"][0]["embedding"])
        )
        assert all(abs(a - b) < 1e-6 for a, b in zip(decoded, floats.data[0].embedding, strict=True))
        # The SDK asks for base64 by default and decodes it itself.
        assert len(openai_client.embeddings.create(model=model, input="x").data[0].embedding) == len(decoded)


def test_streaming_chat_on_sagemaker(openai_client: Any, http: Any) -> None:
    stream = openai_client.chat.completions.create(
        model="emu-chat/test",
        messages=[{"role": "user", "content": "stream me — please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said — stream me — please"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7


def test_sdk_exceptions(openai_client: Any, http: Any) -> None:
    with pytest.raises(openai.NotFoundError):
        openai_client.chat.completions.create(
            model="emu-gone/test", messages=[{"role": "user", "content": "x"}]
        )
    with pytest.raises(openai.RateLimitError):
        openai_client.embeddings.create(model="amazon.titan-embed-text-v2:0", input="[[fault:throttle]]")
    with pytest.raises(openai.BadRequestError):
        openai_client.embeddings.create(model="cohere.embed-english-v3", input="x", dimensions=8)
    with pytest.raises(openai.APIError) as caught:
        list(
            openai_client.chat.completions.create(
                model="emu-chat/test",
                messages=[{"role": "user", "content": "a b c d e f g [[fault:stream-break]]"}],
                stream=True,
            )
        )
    # An error event after the 200 raises the base class; a dropped connection would not.
    assert type(caught.value) is openai.APIError and caught.value.type == "api_error"


def test_transcription_via_sdk(openai_client: Any, http: Any) -> None:
    audio = bytes(range(256)) * 20
    result = openai_client.audio.transcriptions.create(model="emu-whisper/test", file=("a.wav", audio))
    assert result.text
    srt = openai_client.audio.transcriptions.create(
        model="emu-whisper/test", file=("a.wav", audio), response_format="srt"
    )
    assert str(srt).startswith("1\n00:00:00,000")


def test_plain_http_routes(http: Any) -> None:
    rerank = http.post(
        "/rerank",
        json={"model": "emu-rerank/test", "query": "red apple", "documents": ["green pear", "red apple pie"]},
    )
    assert rerank.status_code == 200 and rerank.json()["results"][0]["index"] == 1
    classified = http.post(
        "/classification", json={"model": "emu-classifier/test", "input": "hi", "data_format": "probs"}
    )
    assert classified.status_code == 200 and len(classified.json()["data"][0]["probs"]) == 3
    invoked = http.post("/invocations", json={"model": "emu-embed/test", "input": "hello"})
    assert invoked.status_code == 200 and len(invoked.json()[0]) == 384
    files = {"file": ("a.wav", b"\x01\x02" * 500, "audio/wav")}
    transcribed = http.post(
        "/audio/transcriptions", data={"model": "emu-whisper/test", "response_format": "text"}, files=files
    )
    assert transcribed.status_code == 200 and transcribed.headers["content-type"].startswith("text/plain")
