"""`/v1/messages` and `/v1/responses` through the app: SageMaker chat models too, envelopes, limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = [pytest.mark.functional, pytest.mark.usefixtures("sagemaker_models")]

NOVA = "amazon.nova-lite-v1:0"


def events(response: Any) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each frame of an `event:`-named stream."""
    out = []
    for frame in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.mark.parametrize("model", ["emu-chat/test", "emu-tgi/test"])
def test_messages_on_sagemaker_chat_models(client: Any, auth: dict[str, str], model: str) -> None:
    body = {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "héllo wörld"}]}
    response = client.post("/v1/messages", json=body, headers=auth)
    assert response.status_code == 200, response.text
    message = response.json()
    assert message["type"] == "message" and message["model"] == model
    assert message["content"] == [{"type": "text", "text": "You said — héllo wörld"}]
    assert message["stop_reason"] == "end_turn" and message["usage"]["output_tokens"] == 5


def test_messages_stream_on_sagemaker(client: Any, auth: dict[str, str]) -> None:
    body = {
        "model": "emu-chat/test",
        "max_tokens": 50,
        "stream": True,
        "messages": [{"role": "user", "content": "one two three"}],
    }
    frames = events(client.post("/v1/messages", json=body, headers=auth))
    names = [name for name, _ in frames]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    text = "".join(d["delta"]["text"] for n, d in frames if n == "content_block_delta")
    assert text == "You said — one two three"
    assert frames[-2][1]["usage"]["output_tokens"] == 6


def test_thinking_on_sagemaker_is_refused(client: Any, auth: dict[str, str]) -> None:
    body = {
        "model": "emu-chat/test",
        "max_tokens": 2048,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "hi"}],
    }
    response = client.post("/v1/messages", json=body, headers=auth)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "This model does not support extended thinking",
    }
    count = {"model": "emu-chat/test", "messages": [{"role": "user", "content": "hi"}]}
    refused = client.post("/v1/messages/count_tokens", json=count, headers=auth)
    assert refused.status_code == 400 and "SageMaker" in refused.json()["error"]["message"]


def test_anthropic_envelope_for_validation_auth_and_size(client: Any, auth: dict[str, str]) -> None:
    missing = client.post("/v1/messages", json={"model": NOVA, "messages": []}, headers=auth)
    assert missing.status_code == 400 and missing.json()["type"] == "error"
    assert missing.json()["error"]["type"] == "invalid_request_error"
    unauthenticated = client.post("/v1/messages", json={}, headers={"x-api-key": "nope"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"]["type"] == "authentication_error"
    too_big = client.post(
        "/v1/messages",
        content=b"{" + b" " * 7_000_000 + b"}",
        headers={**auth, "content-type": "application/json"},
    )
    assert too_big.status_code == 413 and too_big.json()["error"]["type"] == "request_too_large"
    assert too_big.headers["x-request-id"]


def test_anthropic_version_header_is_accepted(client: Any, admin_key: str) -> None:
    headers = {"x-api-key": admin_key, "anthropic-version": "2023-06-01", "x-request-id": "req-messages-1"}
    body = {"model": NOVA, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    response = client.post("/v1/messages", json=body, headers=headers)
    assert response.status_code == 200 and response.headers["x-request-id"] == "req-messages-1"


def test_cache_control_on_system_blocks_becomes_a_cache_point(client: Any, auth: dict[str, str]) -> None:
    system = [{"type": "text", "text": "a long shared prefix " * 5, "cache_control": {"type": "ephemeral"}}]
    body = {
        "model": NOVA,
        "max_tokens": 10,
        "system": system,
        "messages": [{"role": "user", "content": "hi"}],
    }
    first = client.post("/v1/messages", json=body, headers=auth).json()["usage"]
    second = client.post("/v1/messages", json=body, headers=auth).json()["usage"]
    assert first["cache_creation_input_tokens"] == 20 and first["cache_read_input_tokens"] == 0
    assert second["cache_read_input_tokens"] == 20 and second["cache_creation_input_tokens"] == 0


@pytest.mark.parametrize("model", ["emu-chat/test", "emu-tgi/test"])
def test_responses_on_sagemaker_chat_models(client: Any, auth: dict[str, str], model: str) -> None:
    response = client.post("/v1/responses", json={"model": model, "input": "héllo wörld"}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed" and body["model"] == model
    assert body["output"][0]["content"][0]["text"] == "You said — héllo wörld"
    stored = client.get(f"/v1/responses/{body['id']}", headers=auth)
    assert stored.status_code == 200 and stored.json()["output"] == body["output"]


def test_responses_errors_use_the_openai_envelope(client: Any, auth: dict[str, str]) -> None:
    missing = client.get("/v1/responses/resp_nope", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "invalid_request_error"
    unknown = client.post("/v1/responses", json={"model": "no-such-model", "input": "x"}, headers=auth)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    unauthenticated = client.get("/v1/responses/resp_nope")
    assert unauthenticated.status_code == 401


def test_openapi_describes_both_apis_with_their_envelopes(client: Any) -> None:
    document = client.get("/openapi.json").json()
    messages = document["paths"]["/v1/messages"]["post"]
    assert messages["responses"]["default"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AnthropicError"
    }
    responses = document["paths"]["/v1/responses"]["post"]
    assert responses["responses"]["default"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OpenAIError"
    }
    assert {
        "/v1/messages/count_tokens",
        "/v1/responses/{response_id}",
        "/v1/responses/{response_id}/input_items",
    } <= set(document["paths"])


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            "/v1/messages",
            {"model": NOVA, "max_tokens": "10", "messages": [{"role": "user", "content": "hi"}]},
            "max_tokens",
        ),
        (
            "/v1/messages",
            {
                "model": NOVA,
                "max_tokens": 10,
                "stream": "yes",
                "messages": [{"role": "user", "content": "hi"}],
            },
            "stream",
        ),
        ("/v1/responses", {"model": NOVA, "input": "hi", "max_output_tokens": "10"}, "max_output_tokens"),
        ("/v1/responses", {"model": NOVA, "input": "hi", "store": "no"}, "store"),
    ],
)
def test_numbers_and_flags_are_strict(
    client: Any, auth: dict[str, str], path: str, body: dict[str, Any], param: str
) -> None:
    response = client.post(path, json=body, headers=auth)
    assert response.status_code == 400
    assert param in response.text


def test_emulated_count_tokens_refuses_profiles_as_bedrock_does(services: Any) -> None:
    from botocore.exceptions import ClientError

    from relay.backends import aws

    runtime = aws.client("bedrock-runtime")
    converse = {"converse": {"messages": [{"role": "user", "content": [{"text": "one two three"}]}]}}
    counted = runtime.count_tokens(modelId="anthropic.claude-sonnet-4-20250514-v1:0", input=converse)
    assert counted["inputTokens"] == 3
    for model in ("us.anthropic.claude-sonnet-4-20250514-v1:0", NOVA):
        with pytest.raises(ClientError, match="doesn't support counting tokens"):
            runtime.count_tokens(modelId=model, input=converse)


def test_empty_content_is_a_400_not_a_500(client: Any, auth: dict[str, str]) -> None:
    body = {"model": NOVA, "max_tokens": 10, "messages": [{"role": "user", "content": []}]}
    response = client.post("/v1/messages", json=body, headers=auth)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    empty = client.post("/v1/responses", json={"model": NOVA, "input": []}, headers=auth)
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "input"
