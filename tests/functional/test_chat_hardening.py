"""Chat input that once slipped past the rules: allow-list bypass by ARN, odd URLs, bad Unicode."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from relay.http.app import create_local_app
from relay.services.container import Services

pytestmark = pytest.mark.functional

HAIKU_ARN = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
NOVA_ARN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"


def _chat(model: str, content: Any = "hello") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}]}


@pytest.fixture(scope="module")
def amazon_only(services: Any) -> TestClient:
    settings = replace(services.settings, allowed_models=("amazon.*",))
    return TestClient(create_local_app(Services(settings)), raise_server_exceptions=False)


def test_allow_list_applies_to_arns(amazon_only: TestClient, auth: dict[str, str]) -> None:
    refused = amazon_only.post("/v1/chat/completions", json=_chat(HAIKU_ARN), headers=auth)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["param"] == "model"
    profile = HAIKU_ARN.replace("::foundation-model/", ":123456789012:inference-profile/us.")
    assert amazon_only.post("/v1/chat/completions", json=_chat(profile), headers=auth).status_code == 403
    assert amazon_only.post("/v1/chat/completions", json=_chat(NOVA_ARN), headers=auth).status_code == 200
    bare = amazon_only.post(
        "/v1/chat/completions", json=_chat("us.anthropic.claude-3-7-sonnet-20250219-v1:0"), headers=auth
    )
    assert bare.status_code == 404


@pytest.mark.parametrize(
    "url", ["http://example.com:99999/x.png", "http://[zz/x.png", "http://exa mple.com/x.png"]
)
def test_malformed_image_urls_are_400(client: TestClient, auth: dict[str, str], url: str) -> None:
    content = [{"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {"url": url}}]
    response = client.post("/v1/chat/completions", json=_chat("amazon.nova-lite-v1:0", content), headers=auth)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_lone_surrogate_is_answered_not_500(client: TestClient, auth: dict[str, str]) -> None:
    # `\ud800` is valid JSON but not Unicode text. OpenAI's tokenizer (tiktoken) deliberately
    # accepts such text, substituting U+FFFD, so Relay serves it too; an echo comes back escaped.
    body = b'{"model":"amazon.nova-lite-v1:0","messages":[{"role":"user","content":"hi \\ud800"}]}'
    response = client.post(
        "/v1/chat/completions", content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "hi \ud800"
    streamed = client.post(
        "/v1/chat/completions",
        content=body.replace(b'"messages"', b'"stream":true,"messages"'),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 200, streamed.text
    frames = [line[len("data: ") :] for line in streamed.text.split("\n\n") if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(frame) for frame in frames[:-1]]
    assert (
        "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "hi \ud800"
    )


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings", "/v1/projects", "/v1/keys"])
def test_deeply_nested_json_is_400(client: TestClient, auth: dict[str, str], path: str) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = client.post(path, content=body, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    payload = response.json()
    if path.startswith("/v1/projects") or path.startswith("/v1/keys"):
        assert payload["status"] == 400
    else:
        assert payload["error"]["type"] == "invalid_request_error"


def test_non_utf8_body_is_an_invalid_request(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/chat/completions", content=b"\xff\xfe{", headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_stream_options_without_stream_names_the_param(client: TestClient, auth: dict[str, str]) -> None:
    body = {**_chat("amazon.nova-lite-v1:0"), "stream_options": {"include_usage": True}}
    response = client.post("/v1/chat/completions", json=body, headers=auth)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "stream_options"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            "/v1/embeddings",
            {"model": "amazon.titan-embed-text-v2:0", "input": "hi", "dimension": 256},
            "dimension",
        ),
        ("/v1/embeddings", {"model": "amazon.titan-embed-text-v2:0", "input": ""}, "input"),
        (
            "/v1/rerank",
            {"model": "cohere.rerank-v3-5:0", "query": "q", "documents": ["a"], "rank_fields": ["x"]},
            "rank_fields",
        ),
    ],
)
def test_unknown_or_bad_fields_are_400_naming_them(
    client: TestClient, auth: dict[str, str], path: str, body: dict[str, Any], param: str
) -> None:
    response = client.post(path, json=body, headers=auth)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_a_base_model_is_not_callable_and_says_why(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/v1/chat/completions", json=_chat("tiny-local"), headers=auth)
    assert response.status_code == 400, response.text
    assert "base model for fine-tuning" in response.json()["error"]["message"]
