"""A client's mistake is a 400 naming the field, never a 5xx the SDK would retry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = [pytest.mark.functional, pytest.mark.usefixtures("sagemaker_models")]

NOVA = "amazon.nova-lite-v1:0"
HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"


def _chat(**fields: Any) -> dict[str, Any]:
    return {"model": NOVA, "messages": [{"role": "user", "content": "hello"}], **fields}


def _tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (_chat(stop=[""]), "stop.0"),
        (_chat(stop=""), "stop"),
        (_chat(tools=[_tool("")]), "tools.0.function.name"),
        (
            _chat(
                messages=[
                    {"role": "user", "content": "weather?"},
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
                        ],
                    },
                    {"role": "tool", "tool_call_id": "", "content": "sunny"},
                ],
                tools=[_tool("w")],
            ),
            "messages.2.tool_call_id",
        ),
    ],
)
def test_empty_strings_bedrock_refuses_are_400_naming_the_field(
    client: TestClient, auth: dict[str, str], body: dict[str, Any], param: str
) -> None:
    response = client.post("/v1/chat/completions", json=body, headers=auth)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert "retry-after" not in response.headers


def test_botocore_parameter_validation_is_a_400_not_a_transport_failure() -> None:
    from botocore.exceptions import ParamValidationError

    from relay.backends.bedrock.errors import map_bedrock_error
    from relay.backends.sagemaker.errors import map_sagemaker_error

    exc = ParamValidationError(report="Invalid length for parameter toolConfig.tools[0].toolSpec.name")
    for mapped in (map_bedrock_error(exc, NOVA), map_sagemaker_error(exc, "emu-chat/test")):
        assert mapped.status == 400
        assert "toolConfig.tools[0].toolSpec.name" in mapped.message
        assert not mapped.headers


@pytest.mark.parametrize("url", ["http://a..b/x.png", "http://" + "a" * 64 + ".com/x.png"])
def test_image_url_with_bad_host_label_is_400(client: TestClient, auth: dict[str, str], url: str) -> None:
    content = [{"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {"url": url}}]
    body = _chat(messages=[{"role": "user", "content": content}])
    response = client.post("/v1/chat/completions", json=body, headers=auth)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "messages[0].content[1]"


def test_unexpected_error_is_a_500_with_request_id_and_its_real_status_logged(
    services: Any, auth: dict[str, str]
) -> None:
    import io
    import logging

    from fastapi import APIRouter

    from relay.http.app import create_app
    from relay.observability import logger

    router = APIRouter()

    @router.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    # The request line is written to the logger's stream (not a logging record): read it there.
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    before = handler.setStream(stream)
    try:
        with TestClient(create_app([router], services), raise_server_exceptions=False) as test_client:
            first = test_client.get("/v1/boom", headers={"x-request-id": "req-boom-1"})
            second = test_client.get("/v1/boom")
    finally:
        handler.setStream(before)
    assert first.status_code == 500
    assert first.headers["x-request-id"] == "req-boom-1"
    assert first.json()["error"]["type"] == "api_error"
    assert "a bug" not in first.text
    assert second.status_code == 500 and second.headers["x-request-id"]
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines = [r for r in logged if r.get("message") == "request" and r.get("path") == "/v1/boom"]
    assert [r["correlation_id"] for r in lines] == ["req-boom-1", second.headers["x-request-id"]]
    assert lines[0]["status"] == 500  # (the local stack sets POWERTOOLS_METRICS_DISABLED: no EMF here)


def test_keep_alive_connection_survives_an_unexpected_error(services: Any) -> None:
    import http.client

    from fastapi import APIRouter

    from relay.http.app import create_app
    from tests.servers import serving

    router = APIRouter()

    @router.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @router.get("/v1/fine")
    async def fine() -> dict[str, bool]:
        return {"ok": True}

    with serving(create_app([router], services), log_level="critical") as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/v1/boom")
        failed = connection.getresponse()
        failed.read()
        assert failed.status == 500
        connection.request("GET", "/v1/fine")  # the same socket
        answered = connection.getresponse()
        assert answered.status == 200 and json.loads(answered.read()) == {"ok": True}
        connection.close()


def test_sagemaker_stream_cut_midway_is_an_upstream_error_event(
    client: TestClient, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    body = {
        "model": "emu-chat/test",
        "messages": [{"role": "user", "content": "a b c d e f g [[fault:stream-break]]"}],
        "stream": True,
    }
    with caplog.at_level("ERROR"):
        response = client.post("/v1/chat/completions", json=body, headers=auth)
    frames = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    error = json.loads(frames[-2])["error"]
    assert error["code"] == "upstream_error", error
    assert "emu-chat/test" in error["message"]
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a mapped upstream failure"


@pytest.mark.parametrize(
    ("path", "field", "value", "expected"),
    [
        ("/v1/chat/completions", "stream", "yes", "a boolean"),
        ("/v1/chat/completions", "n", "2", "an integer"),
        ("/v1/chat/completions", "max_tokens", "10", "an integer"),
        ("/v1/chat/completions", "max_tokens", True, "an integer"),
        ("/v1/chat/completions", "temperature", "0.5", "a number"),
        ("/v1/completions", "max_tokens", "10", "an integer"),
        ("/v1/completions", "stream", 1, "a boolean"),
        ("/v1/embeddings", "dimensions", "256", "an integer"),
    ],
)
def test_wrong_json_types_are_400_naming_the_param(
    client: TestClient, auth: dict[str, str], path: str, field: str, value: Any, expected: str
) -> None:
    if path == "/v1/embeddings":
        body: dict[str, Any] = {"model": "amazon.titan-embed-text-v2:0", "input": "hi"}
    elif path == "/v1/completions":
        body = {"model": NOVA, "prompt": "hi"}
    else:
        body = _chat()
    response = client.post(path, json={**body, field: value}, headers=auth)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == field
    got = {str: "a string", bool: "a boolean", int: "an integer"}[type(value)]
    assert error["message"] == f"Invalid type for '{field}': expected {expected}, but got {got} instead."


def test_what_the_sdk_sends_still_passes(client: TestClient, auth: dict[str, str]) -> None:
    # Ints where floats are expected, and the largest max_tokens the model takes.
    body = _chat(model=HAIKU, temperature=1, top_p=1, max_tokens=8192, stream=False, n=1, top_k=5)
    body["metadata"] = {"user_id": "u-1"}
    response = client.post("/v1/chat/completions", json=body, headers=auth)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": -1}, "max_completion_tokens"),
        ({"top_k": -1}, "top_k"),
        ({"n": 0}, "n"),
        ({"n": 129}, "n"),
        ({"model": HAIKU, "max_tokens": 8193}, "max_tokens"),
        (
            {"model": "us.anthropic.claude-sonnet-4-20250514-v1:0", "max_completion_tokens": 64001},
            "max_completion_tokens",
        ),
    ],
)
def test_out_of_bounds_values_are_400(
    client: TestClient, auth: dict[str, str], fields: dict[str, Any], param: str
) -> None:
    response = client.post("/v1/chat/completions", json=_chat(**fields), headers=auth)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_n_up_to_128_is_accepted(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/v1/chat/completions", json=_chat(n=9, max_tokens=4), headers=auth)
    assert response.status_code == 200, response.text
    assert len(response.json()["choices"]) == 9


def test_a_huge_model_id_is_not_echoed_whole(client: TestClient, auth: dict[str, str]) -> None:
    huge = "m" * 500_000
    for response in (
        client.post("/v1/chat/completions", json=_chat(model=huge), headers=auth),
        client.post("/v1/embeddings", json={"model": huge, "input": "hi"}, headers=auth),
        client.get(f"/v1/models/{'m' * 20_000}", headers=auth),
    ):
        assert response.status_code == 404, response.text[:300]
        assert len(response.content) < 1_000
        assert "characters)" in response.json()["error"]["message"]


def test_admin_model_404_uses_the_control_plane_code(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/v1/admin/models/never-registered/x", headers=auth)
    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "error": "Model never-registered/x is not registered",
        "code": "object_not_found",
    }


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_curl_default_content_type_still_reads_the_json_body(
    client: TestClient, auth: dict[str, str], content_type: str | None
) -> None:
    headers = dict(auth)
    if content_type:
        headers["Content-Type"] = content_type
    chat = client.post("/v1/chat/completions", content=json.dumps(_chat()).encode(), headers=headers)
    assert chat.status_code == 200, chat.text
    embed = {"model": "amazon.titan-embed-text-v2:0", "input": "hi"}
    embedded = client.post("/v1/embeddings", content=json.dumps(embed).encode(), headers=headers)
    assert embedded.status_code == 200, embedded.text
    project = client.post("/v1/projects", content=b'{"name": "curl-default"}', headers=headers)
    assert project.status_code == 201, project.text


def test_405_allow_lists_every_method_the_path_serves(client: TestClient, auth: dict[str, str]) -> None:
    response = client.request("OPTIONS", "/v1/projects", headers=auth)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}
    patched = client.patch("/v1/projects/ms-123", headers=auth)
    assert patched.status_code == 405
    assert set(patched.headers["allow"].split(", ")) == {"DELETE", "GET"}
