"""Chat completions judged by the real openai SDK against uvicorn on loopback."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import openai
import pytest

from relay.backends.images import ImageFetcher

pytestmark = pytest.mark.e2e

NOVA = "amazon.nova-lite-v1:0"
SONNET = "us.anthropic.claude-sonnet-4-20250514-v1:0"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
TOOLS: list[Any] = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    for name in ("get_weather", "get_time")
]  # fmt: skip


def test_streaming_text(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model=NOVA, messages=[{"role": "user", "content": "stream these four words"}], stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "stream these four words"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 4
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_multi_turn_parallel_tools(openai_client: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "call get_weather and call get_time"}]
    first = openai_client.chat.completions.create(model=SONNET, messages=messages, tools=TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    messages.append(choice.message.model_dump(exclude_none=True))
    for call in calls:
        messages.append({"role": "tool", "tool_call_id": call.id, "content": f"{call.function.name} ok"})
    second = openai_client.chat.completions.create(model=SONNET, messages=messages, tools=TOOLS)
    assert (
        second.choices[0].message.content
        == "The tool get_weather returned get_weather ok; get_time returned get_time ok."
    )


def test_streamed_tool_calls_assemble(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model=NOVA,
        messages=[{"role": "user", "content": "call get_weather and call get_time"}],
        tools=TOOLS,
        stream=True,
    )
    arguments: dict[int, str] = {}
    for chunk in stream:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments[call.index] = arguments.get(call.index, "") + (
                call.function.arguments or "" if call.function else ""
            )
    assert {i: json.loads(a) for i, a in arguments.items()} == {0: {"city": "city-1"}, 1: {"city": "city-1"}}


def test_reasoning_signature_round_trips(openai_client: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "call get_weather please"}]
    first = openai_client.chat.completions.create(
        model=SONNET, messages=messages, tools=TOOLS, reasoning_effort="low"
    )
    message = first.model_dump()["choices"][0]["message"]
    assert message["reasoning_content"].startswith("Let me think about")
    assert message["reasoning_signature"]
    call = message["tool_calls"][0]
    messages += [
        {k: v for k, v in message.items() if v is not None},
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
    ]
    second = openai_client.chat.completions.create(
        model=SONNET, messages=messages, tools=TOOLS, reasoning_effort="low"
    )
    assert second.choices[0].message.content == "The tool get_weather returned sunny."
    messages[1].pop("thinking_blocks")  # it would win over the flat pair
    messages[1]["reasoning_signature"] = "forged"
    with pytest.raises(openai.BadRequestError, match="signature"):
        openai_client.chat.completions.create(
            model=SONNET, messages=messages, tools=TOOLS, reasoning_effort="low"
        )


def test_json_schema_answer_is_content(openai_client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    reply = openai_client.chat.completions.create(
        model=NOVA, messages=[{"role": "user", "content": "Ada, 36"}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
    )  # fmt: skip
    assert json.loads(reply.choices[0].message.content or "") == {"name": "name-1", "age": 1}
    assert reply.choices[0].finish_reason == "stop"


def test_vision_data_url(openai_client: openai.OpenAI) -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    reply = openai_client.chat.completions.create(
        model=NOVA,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ],
    )
    assert reply.choices[0].message.content == f"what is this [image png {len(PNG)} bytes]"


@pytest.fixture()
def image_server() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


def test_vision_http_url_through_the_guarded_fetcher(
    openai_client: openai.OpenAI, services: Any, image_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = "93.184.216.34"

    async def resolver(host: str, port: int) -> list[str]:
        assert host == "images.relay.test"
        return [public]

    class ToLocalServer(httpx.AsyncBaseTransport):
        """Replaces the network: the guard connects to the checked public IP; we route it here."""

        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            assert request.url.host == public and request.headers["host"] == "images.relay.test"
            request.url = request.url.copy_with(host="127.0.0.1", port=image_server)
            return await self.inner.handle_async_request(request)

    fetcher = ImageFetcher(max_bytes=3_750_000, timeout=5, resolver=resolver, transport=ToLocalServer())
    monkeypatch.setattr(services.bedrock_chat, "_images", fetcher)
    reply = openai_client.chat.completions.create(
        model=NOVA,
        messages=[
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "http://images.relay.test/cat.png"}}],
            }
        ],
    )
    assert reply.choices[0].message.content == f"[image png {len(PNG)} bytes]"


def test_default_guard_refuses_loopback(openai_client: openai.OpenAI, image_server: int) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.chat.completions.create(
            model=NOVA,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": f"http://127.0.0.1:{image_server}/x.png"}}
                    ],
                }
            ],
        )
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("fault", "error", "status", "code"),
    [
        ("validation", openai.BadRequestError, 400, None),
        ("access", openai.PermissionDeniedError, 403, None),
        ("not-found", openai.NotFoundError, 404, "model_not_found"),
        ("throttle", openai.RateLimitError, 429, "rate_limit_exceeded"),
        ("timeout", openai.InternalServerError, 504, "upstream_timeout"),
        ("unavailable", openai.InternalServerError, 503, "service_unavailable"),
        ("internal", openai.InternalServerError, 502, "upstream_error"),
    ],
)
def test_sdk_exception_classes(
    openai_client: openai.OpenAI,
    fault: str,
    error: type[openai.APIStatusError],
    status: int,
    code: str | None,
) -> None:
    with pytest.raises(error) as caught:
        openai_client.chat.completions.create(
            model=NOVA, messages=[{"role": "user", "content": f"[[fault:{fault}]]"}]
        )
    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert caught.value.code == code
    assert f"Emulated fault: {fault}" in caught.value.message


def test_failed_stream_raises_in_the_sdk(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model=NOVA, messages=[{"role": "user", "content": "a b c d e f [[fault:stream-error]]"}], stream=True
    )
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk)
    assert received
    # The status line (200) went out before the failure, so the SDK raises the base class from
    # the error event; a dropped connection would be its subclass APIConnectionError instead.
    assert type(caught.value) is openai.APIError
    assert (caught.value.type, caught.value.code) == ("api_error", "upstream_error")
    assert "Emulated fault: stream-error" in caught.value.message


def test_legacy_completions(openai_client: openai.OpenAI) -> None:
    reply = openai_client.completions.create(model=NOVA, prompt="say this", max_tokens=1)
    assert reply.choices[0].text == "say" and reply.choices[0].finish_reason == "length"
