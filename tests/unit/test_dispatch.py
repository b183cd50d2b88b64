"""The dispatcher: one batch line through the chat service the HTTP route uses, on fakes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from relay.backends.bedrock.catalog import BedrockCatalog
from relay.errors import BadRequestError, RateLimitError, RelayError, UpstreamError
from relay.protocol.chat import (
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionRequest,
    Choice,
    CompletionUsage,
)
from relay.services.chat import ChatService
from relay.services.container import Services
from relay.services.dispatch.dispatcher import Dispatcher
from relay.services.dispatch.endpoints import endpoints
from relay.services.dispatch.retry import RetryPolicy, is_transient
from relay.services.registry.repository import InMemoryModelRegistry
from relay.services.resolver import ModelResolver
from relay.settings import Settings

pytestmark = pytest.mark.unit

MODEL = "amazon.nova-lite-v1:0"


class Bedrock:
    def list_foundation_models(self) -> dict[str, Any]:
        return {
            "modelSummaries": [{"modelId": MODEL, "outputModalities": ["TEXT"], "modelName": "Nova Lite"}]
        }

    def list_inference_profiles(self, **kwargs: Any) -> dict[str, Any]:
        return {"inferenceProfileSummaries": []}


class Backend:
    """Answers with the last user message reversed, after raising the queued failures in turn."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.calls = 0

    async def complete(self, request: ChatCompletionRequest, target: Any) -> ChatCompletion:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        text = str(request.messages[-1].content)[::-1]
        return ChatCompletion(
            id="chatcmpl-1",
            model=request.model,
            choices=[Choice(finish_reason="stop", index=0, message=ChatCompletionMessage(content=text))],
            usage=CompletionUsage(prompt_tokens=3, completion_tokens=2, total_tokens=5),
        )

    def stream(self, request: ChatCompletionRequest, target: Any) -> AsyncIterator[Any]:
        raise AssertionError("a batch line never streams")


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def dispatcher(backend: Backend, sleeps: Sleeps | None = None, usage: list[Any] | None = None) -> Dispatcher:
    services = Services(Settings(table_name="t", bucket_name="b", admin_secret_id="s"))
    resolver = ModelResolver(BedrockCatalog(lambda: Bedrock(), ttl=60), InMemoryModelRegistry([]))
    # The real ChatService and route table; only the model source behind them is a fake.
    services.__dict__["chat"] = ChatService(resolver, {"bedrock": lambda: backend})
    record = usage.append if usage is not None else None
    return Dispatcher(
        endpoints(services), RetryPolicy(attempts=3, sleep=sleeps or Sleeps()), record_usage=record
    )


def line(content: str = "hello", **body: Any) -> dict[str, Any]:
    payload = {"model": MODEL, "messages": [{"role": "user", "content": content}], **body}
    return {"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": payload}


def run(d: Dispatcher, raw: Any) -> Any:
    return asyncio.run(d.dispatch(raw, entry_point="test"))


def test_a_chat_line_is_answered_with_the_routes_body() -> None:
    out = run(dispatcher(Backend()), line("hello"))
    assert out.line.custom_id == "req-1"
    assert out.line.id.startswith("batch_req_")
    assert out.line.error is None and out.line.succeeded
    assert out.line.response.status_code == 200
    assert out.line.response.request_id.startswith("req_")
    body = out.line.response.body
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "olleh"
    assert body["usage"]["total_tokens"] == 5
    assert "service_tier" not in body  # null fields left out, as the route answers


def test_json_text_is_accepted_as_the_line() -> None:
    out = run(dispatcher(Backend()), json.dumps(line("abc")).encode())
    assert out.line.response.body["choices"][0]["message"]["content"] == "cba"


def test_an_unknown_model_is_a_404_response_with_openai_error_body() -> None:
    backend = Backend()
    raw = line()
    raw["body"]["model"] = "no-such-model"
    out = run(dispatcher(backend), raw)
    assert out.line.error is None and not out.line.succeeded and not out.transient
    assert out.line.response.status_code == 404
    assert out.line.response.body["error"]["code"] == "model_not_found"
    assert out.line.response.body["error"]["type"] == "invalid_request_error"
    assert backend.calls == 0


def test_an_invalid_body_is_a_400_naming_the_field() -> None:
    raw = line()
    raw["body"]["temperature"] = 9
    out = run(dispatcher(Backend()), raw)
    assert out.line.response.status_code == 400
    assert out.line.response.body["error"]["param"] == "temperature"


def test_stream_true_is_refused_not_dropped() -> None:
    out = run(dispatcher(Backend()), line(stream=True))
    assert out.line.response.status_code == 400
    assert out.line.response.body["error"]["param"] == "stream"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not JSON"),
        ([1, 2], "JSON object"),
        ({"custom_id": "x", "method": "GET", "url": "/v1/chat/completions", "body": {}}, "method"),
        ({"custom_id": "x", "method": "POST", "url": "/v1/chat/completions"}, "body"),
        ({"custom_id": "x", "method": "POST", "url": "/v1/images", "body": {}}, "/v1/images"),
    ],
)
def test_what_is_not_a_request_line_is_an_error_result(raw: Any, fragment: str) -> None:
    backend = Backend()
    out = run(dispatcher(backend), raw)
    assert out.line.response is None
    assert out.line.error is not None and fragment in out.line.error.message
    assert backend.calls == 0


def test_the_custom_id_is_kept_on_an_error_result_when_there_is_one() -> None:
    out = run(dispatcher(Backend()), {"custom_id": "keep-me", "method": "POST", "url": "/x", "body": {}})
    assert out.line.custom_id == "keep-me"


def test_a_throttle_is_retried_with_backoff_then_answered() -> None:
    sleeps = Sleeps()
    backend = Backend([RateLimitError("slow down", retry_after=1), UpstreamError("boom")])
    out = run(dispatcher(backend, sleeps), line("ok"))
    assert out.line.succeeded and out.attempts == 3
    assert backend.calls == 3
    assert sleeps.waits == [1.0, 1.0]  # Retry-After 1 s beats 0.5 s; then 0.5 * 2


def test_past_the_retry_budget_a_transient_failure_is_an_error_marked_transient() -> None:
    backend = Backend([UpstreamError("boom")] * 5)
    out = run(dispatcher(backend), line())
    assert backend.calls == 3
    assert out.transient and out.line.response is None
    assert out.line.error.code == "upstream_error"


def test_a_refusal_is_not_retried() -> None:
    backend = Backend([BadRequestError("no", param="messages")])
    out = run(dispatcher(backend), line())
    assert backend.calls == 1 and out.line.response.status_code == 400


def test_an_unexpected_exception_is_a_500_response_not_a_crash() -> None:
    out = run(dispatcher(Backend([KeyError("bug")])), line())
    assert out.line.response.status_code == 500
    assert "bug" not in json.dumps(out.line.response.body)  # no internals leak into the answer


def test_transient_and_backoff_rules() -> None:
    assert is_transient(RateLimitError("x"))
    assert not is_transient(RateLimitError("x", code="insufficient_quota"))
    assert is_transient(RelayError("x"))
    assert not is_transient(BadRequestError("x"))
    policy = RetryPolicy(base_delay=0.5, max_delay=3)
    assert [policy.delay(n, UpstreamError("x")) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3]
    assert policy.delay(1, RateLimitError("x", retry_after=30)) == 3  # capped


def test_a_line_run_as_a_key_keeps_its_model_allow_list_and_records_its_usage() -> None:
    from relay.services.keys.models import Principal
    from relay.services.keys.policy import KeyPolicy

    usage: list[Any] = []
    d = dispatcher(Backend(), usage=usage)
    narrow = Principal(key_id="k1", is_admin=False, policy=KeyPolicy(allowed_models=("anthropic.*",)))
    refused = asyncio.run(d.dispatch(line(), entry_point="batch", principal=narrow))
    assert refused.line.response.status_code == 403
    assert refused.line.response.body["error"]["code"] == "model_not_allowed"
    wide = Principal(key_id="k2", is_admin=False, policy=KeyPolicy())
    answered = asyncio.run(d.dispatch(line(), entry_point="batch", principal=wide))
    assert answered.line.succeeded
    (meter,) = [m for m in usage if m.key_id == "k2"]
    assert meter.tokens == 5
    assert not asyncio.run(d.dispatch(line(), entry_point="sqs")).transient  # no key: nothing recorded
    assert [m.key_id for m in usage] == ["k2"]
