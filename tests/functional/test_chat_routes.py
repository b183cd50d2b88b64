"""Chat and completions routes in-process against the bedrock-runtime emulator."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.functional

NOVA = "amazon.nova-lite-v1:0"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def chat(client: TestClient, auth: dict[str, str], **body: Any) -> Any:
    body.setdefault("model", NOVA)
    return client.post("/v1/chat/completions", headers=auth, json=body)


def events(text: str) -> list[Any]:
    frames = [line[6:] for line in text.split("\n") if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    return [json.loads(f) for f in frames[:-1]]


def test_plain_completion(client: TestClient, auth: dict[str, str]) -> None:
    body = chat(client, auth, messages=[{"role": "user", "content": "hello relay"}], max_tokens=1).json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"content": "hello", "role": "assistant"}
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["prompt_tokens"] == 2


def test_n_choices_are_indexed(client: TestClient, auth: dict[str, str]) -> None:
    body = chat(client, auth, messages=[{"role": "user", "content": "x y"}], n=3).json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 6


def test_stream_with_usage_and_n(client: TestClient, auth: dict[str, str]) -> None:
    response = chat(
        client,
        auth,
        messages=[{"role": "user", "content": "a b c"}],
        stream=True,
        n=2,
        stream_options={"include_usage": True},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = events(response.text)
    text = {0: "", 1: ""}
    for chunk in chunks[:-1]:
        for choice in chunk["choices"]:
            text[choice["index"]] += choice["delta"].get("content", "")
    assert text == {0: "a b c", 1: "a b c"}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 6


def test_streaming_tools_fall_back_to_one_call_where_bedrock_cannot_stream_them(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = chat(client, auth, model="meta.llama3-1-8b-instruct-v1:0", stream=True, tools=[WEATHER],
                    messages=[{"role": "user", "content": "call get_weather"}])  # fmt: skip
    assert response.status_code == 200
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in events(response.text)
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls[0]["function"] == {"name": "get_weather", "arguments": '{"city": "city-1"}'}


def test_guardrail_maps_to_content_filter(client: TestClient, auth: dict[str, str]) -> None:
    body = chat(client, auth, messages=[{"role": "user", "content": "this is blocked"}],
                guardrail_config={"guardrailIdentifier": "g1", "guardrailVersion": "1"}).json()  # fmt: skip
    assert body["choices"][0]["finish_reason"] == "content_filter"


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("validation", 400, "invalid_request_error"),
        ("access", 403, "permission_error"),
        ("throttle", 429, "rate_limit_error"),
        ("quota", 429, "rate_limit_error"),
        ("timeout", 504, "api_error"),
        ("not-ready", 503, "api_error"),
        ("unavailable", 503, "api_error"),
        ("model-error", 502, "api_error"),
        ("internal", 502, "api_error"),
    ],
)
def test_bedrock_errors_keep_their_status_in_openai_envelope(
    client: TestClient, auth: dict[str, str], fault: str, status: int, code: str
) -> None:
    for stream in (False, True):
        response = chat(
            client, auth, messages=[{"role": "user", "content": f"[[fault:{fault}]]"}], stream=stream
        )
        assert response.status_code == status, (fault, stream)
        assert response.json()["error"]["type"] == code
        if status == 429:
            assert response.headers["retry-after"]


def test_failed_stream_ends_with_error_event_then_done(client: TestClient, auth: dict[str, str]) -> None:
    for fault in ("stream-error", "stream-break"):
        response = chat(
            client, auth, messages=[{"role": "user", "content": f"a b c d e [[fault:{fault}]]"}], stream=True
        )
        chunks = events(response.text)
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        assert chunks[-1]["error"]["type"] == "api_error"


def test_unknown_model_and_wrong_type(client: TestClient, auth: dict[str, str]) -> None:
    missing = chat(client, auth, model="no.such-model", messages=[{"role": "user", "content": "x"}])
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    embed = chat(
        client, auth, model="amazon.titan-embed-text-v2:0", messages=[{"role": "user", "content": "x"}]
    )
    assert embed.status_code == 400 and embed.json()["error"]["param"] == "model"


def test_refused_parameter_names_param(client: TestClient, auth: dict[str, str]) -> None:
    response = chat(client, auth, messages=[{"role": "user", "content": "x"}], seed=3)
    assert response.status_code == 400 and response.json()["error"]["param"] == "seed"


def test_image_url_to_loopback_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    part = {"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/secret.png"}}
    response = chat(client, auth, messages=[{"role": "user", "content": [part]}])
    assert response.status_code == 400
    assert "public" in response.json()["error"]["message"]


def test_completions_list_prompt_and_stream(client: TestClient, auth: dict[str, str]) -> None:
    body = client.post("/v1/completions", headers=auth, json={"model": NOVA, "prompt": ["one", "two"]}).json()
    assert body["object"] == "text_completion"
    assert [(c["index"], c["text"]) for c in body["choices"]] == [(0, "one"), (1, "two")]
    streamed = client.post(
        "/v1/completions", headers=auth, json={"model": NOVA, "prompt": "p q", "stream": True}
    )
    chunks = events(streamed.text)
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == "p q"
    refused = client.post("/v1/completions", headers=auth, json={"model": NOVA, "prompt": "x", "echo": True})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "echo"


def test_client_disconnect_closes_the_upstream_stream(
    services: Any, live_server: str, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    backend = services.bedrock_chat
    real = backend._client
    closed = threading.Event()

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def converse_stream(self, **kwargs: Any) -> Any:
            reply = real.converse_stream(**kwargs)
            stream = reply["stream"]
            original = stream.close

            def close() -> None:
                closed.set()
                original()

            stream.close = close
            return reply

    monkeypatch.setattr(backend, "_client", Spy())
    monkeypatch.setenv("RELAY_EMULATOR_CHUNK_DELAY_MS", "200")
    body = {"model": NOVA, "stream": True, "messages": [{"role": "user", "content": " ".join(["w"] * 50)}]}
    headers = {"Authorization": f"Bearer {admin_key}"}
    with (
        httpx.Client(timeout=10) as http,
        http.stream("POST", f"{live_server}/chat/completions", json=body, headers=headers) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("data: "):
                break
    started = time.monotonic()
    assert closed.wait(5), "upstream stream was not closed after the client left"
    assert time.monotonic() - started < 5
