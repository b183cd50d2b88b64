"""`/v1/responses` batch lines: the dispatcher through the ResponsesService the route uses, on fakes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from relay.backends.bedrock.catalog import BedrockCatalog
from relay.errors import NotFoundError
from relay.protocol.batch import BATCH_URLS, RESPONSES_URL
from relay.protocol.batches import CreateBatchRequest
from relay.services.chat import ChatService
from relay.services.container import Services
from relay.services.dispatch.dispatcher import Dispatched, Dispatcher
from relay.services.dispatch.endpoints import endpoints
from relay.services.dispatch.retry import RetryPolicy
from relay.services.keys.models import ADMIN, Principal
from relay.services.keys.policy import KeyPolicy
from relay.services.registry.repository import InMemoryModelRegistry
from relay.services.resolver import ModelResolver
from relay.services.responses.repository import InMemoryResponseRepository
from relay.services.responses.service import KEYLESS_OWNER, ResponsesService, owner_of
from relay.settings import Settings
from tests.unit.test_batches import Stack, jsonl
from tests.unit.test_dispatch import MODEL, Backend, Bedrock, Sleeps

pytestmark = pytest.mark.unit

TEAM = Principal(key_id="team00000001", is_admin=False, policy=KeyPolicy())


class Wired:
    """The real endpoint table, ChatService and ResponsesService; only Bedrock and storage are fakes."""

    def __init__(self) -> None:
        self.backend = Backend()
        self.stored = InMemoryResponseRepository()
        self.usage: list[Any] = []
        services = Services(Settings(table_name="t", bucket_name="b", admin_secret_id="s"))
        resolver = ModelResolver(BedrockCatalog(lambda: Bedrock(), ttl=60), InMemoryModelRegistry([]))
        chat = ChatService(resolver, {"bedrock": lambda: self.backend})
        services.__dict__["chat"] = chat
        services.__dict__["responses"] = ResponsesService(chat, self.stored, clock=lambda: 1_700_000_000)
        self.responses: ResponsesService = services.responses
        self.dispatcher = Dispatcher(
            endpoints(services), RetryPolicy(attempts=2, sleep=Sleeps()), record_usage=self.usage.append
        )

    def run(self, raw: Any, principal: Principal | None = None) -> Dispatched:
        return asyncio.run(self.dispatcher.dispatch(raw, entry_point="test", principal=principal))


def line(text: str = "hello", custom_id: str = "r-1", **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": RESPONSES_URL,
        "body": {"model": MODEL, "input": text, **body},
    }


def test_the_dispatcher_serves_exactly_the_batch_urls_responses_included() -> None:
    assert RESPONSES_URL == "/v1/responses"
    assert Wired().dispatcher.urls == BATCH_URLS
    assert RESPONSES_URL in BATCH_URLS


def test_a_responses_line_is_answered_with_a_response_object() -> None:
    wired = Wired()
    out = wired.run(line("hello"))
    assert out.line.succeeded and out.line.custom_id == "r-1"
    body = out.line.response.body
    assert body["object"] == "response" and body["id"].startswith("resp_")
    assert body["status"] == "completed" and body["model"] == MODEL
    (message,) = body["output"]
    assert message["type"] == "message" and message["content"][0]["text"] == "olleh"
    usage = body["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (3, 2, 5)
    assert wired.backend.calls == 1


def test_a_line_run_as_a_key_stores_its_response_under_that_key() -> None:
    wired = Wired()
    out = wired.run(line("hello"), principal=TEAM)
    response_id = out.line.response.body["id"]
    assert wired.stored.items[response_id].owner == TEAM.key_id
    # What GET /v1/responses/{id} answers for that key, and for any other (the admin key too).
    assert wired.responses.get(response_id, owner_of(TEAM)).id == response_id
    with pytest.raises(NotFoundError):
        wired.responses.get(response_id, owner_of(ADMIN))
    assert [m.key_id for m in wired.usage] == [TEAM.key_id]


def test_a_keyless_line_stores_under_the_keyless_owner_which_no_key_reads() -> None:
    wired = Wired()
    out = wired.run(line("hello"))
    response_id = out.line.response.body["id"]
    assert wired.stored.items[response_id].owner == KEYLESS_OWNER == owner_of(None)
    for principal in (ADMIN, TEAM):
        with pytest.raises(NotFoundError):
            wired.responses.get(response_id, owner_of(principal))
    assert wired.usage == []  # no key, no per-key usage


def test_store_false_stores_nothing() -> None:
    wired = Wired()
    out = wired.run(line("hello", store=False), principal=TEAM)
    assert out.line.succeeded
    assert out.line.response.body["store"] is False
    assert wired.stored.items == {}


def test_a_keyless_line_continues_a_keyless_response_and_a_key_cannot() -> None:
    wired = Wired()
    first = wired.run(line("hello")).line.response.body["id"]
    follow = line("again", custom_id="r-2", previous_response_id=first)
    continued = wired.run(follow)
    assert continued.line.succeeded
    assert continued.line.response.body["previous_response_id"] == first
    # As the route answers a continuation of a response the caller does not own.
    refused = wired.run(follow, principal=TEAM)
    assert refused.line.response.status_code == 400
    assert refused.line.response.body["error"]["param"] == "previous_response_id"
    assert wired.backend.calls == 2


def test_stream_true_is_refused_not_run() -> None:
    wired = Wired()
    out = wired.run(line(stream=True))
    assert out.line.response.status_code == 400
    assert out.line.response.body["error"]["param"] == "stream"
    assert wired.backend.calls == 0 and wired.stored.items == {}


def test_an_invalid_body_is_a_400_naming_the_field() -> None:
    wired = Wired()
    out = wired.run(line(temperature=9))
    assert out.line.response.status_code == 400
    assert out.line.response.body["error"]["param"] == "temperature"
    assert wired.backend.calls == 0


def test_a_keys_model_allow_list_applies_to_a_responses_line() -> None:
    wired = Wired()
    narrow = Principal(key_id="narrow000001", is_admin=False, policy=KeyPolicy(allowed_models=("x.*",)))
    out = wired.run(line(), principal=narrow)
    assert out.line.response.status_code == 403
    assert out.line.response.body["error"]["code"] == "model_not_allowed"
    assert wired.backend.calls == 0 and wired.stored.items == {}


def test_a_batch_may_name_the_responses_endpoint() -> None:
    stack = Stack()
    source = stack.files.create(
        "k", filename="in.jsonl", purpose="batch", content=jsonl(line()), expires_after=None
    )
    request = CreateBatchRequest(input_file_id=source.id, endpoint=RESPONSES_URL, completion_window="24h")
    record = stack.service.create("k", request)
    assert record.endpoint == RESPONSES_URL and record.status == "validating"
    assert stack.worker.submitted[-1]["batch_id"] == record.id
