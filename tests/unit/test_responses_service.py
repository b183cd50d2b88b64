"""ResponsesService on the in-memory repository, with a chat backend fake at the ChatBackend port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from relay.errors import BadRequestError, NotFoundError, RateLimitError
from relay.protocol.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    CompletionUsage,
)
from relay.protocol.responses import ResponseCreateRequest
from relay.services.chat import ChatService
from relay.services.responses.models import RETENTION_SECONDS
from relay.services.responses.repository import InMemoryResponseRepository
from relay.services.responses.service import ResponsesService
from relay.targets import BedrockTarget

pytestmark = pytest.mark.unit


def text_of(content: Any) -> str:
    return content if isinstance(content, str) else "".join(p.text for p in content)


class FakeResolver:
    def resolve_cached(self, model_id: str, *, types: tuple[str, ...]) -> BedrockTarget:
        return BedrockTarget(model_id, "chat")


class EchoBackend:
    """Answers with the text of every message it was sent, joined by ' | '."""

    def __init__(self) -> None:
        self.requests: list[ChatCompletionRequest] = []
        self.fail_after_first = False

    def _text(self, request: ChatCompletionRequest) -> str:
        return " | ".join(text_of(m.content) for m in request.messages)

    async def complete(self, request: ChatCompletionRequest, target: BedrockTarget) -> ChatCompletion:
        self.requests.append(request)
        message = ChatCompletionMessage(content=self._text(request))
        usage = CompletionUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2)
        choice = Choice(finish_reason="stop", index=0, message=message)
        return ChatCompletion(id="chatcmpl-1", choices=[choice], model=request.model, usage=usage)

    async def stream(
        self, request: ChatCompletionRequest, target: BedrockTarget
    ) -> AsyncIterator[ChatCompletionChunk]:
        self.requests.append(request)
        for piece in ("one ", "two"):
            choice = ChunkChoice(delta=ChoiceDelta(content=piece), index=0)
            yield ChatCompletionChunk(id="chatcmpl-1", choices=[choice], created=1, model=request.model)
            if self.fail_after_first:
                raise RateLimitError("slow down")
        done = ChunkChoice(delta=ChoiceDelta(), finish_reason="stop", index=0)
        yield ChatCompletionChunk(id="chatcmpl-1", choices=[done], created=1, model=request.model)


@pytest.fixture()
def backend() -> EchoBackend:
    return EchoBackend()


@pytest.fixture()
def repository() -> InMemoryResponseRepository:
    return InMemoryResponseRepository()


@pytest.fixture()
def service(backend: EchoBackend, repository: InMemoryResponseRepository) -> ResponsesService:
    chat = ChatService(FakeResolver(), {"bedrock": lambda: backend})  # type: ignore[arg-type]
    return ResponsesService(chat, repository, clock=lambda: 1000.0)


def create(service: ResponsesService, owner: str = "key-a", **fields: Any) -> Any:
    request = ResponseCreateRequest.model_validate({"model": "m", **fields})
    return asyncio.run(service.create(request, owner))


def test_stored_response_continues_without_the_old_instructions(
    service: ResponsesService, backend: EchoBackend, repository: InMemoryResponseRepository
) -> None:
    first = create(service, input="first", instructions="Old rules")
    assert first.output[0]["content"][0]["text"] == "Old rules | first"
    stored = repository.items[first.id]
    assert stored.owner == "key-a" and stored.expires_at == 1000 + RETENTION_SECONDS
    second = create(service, input="second", previous_response_id=first.id, instructions="New rules")
    # The earlier turn's input and output come back; its instructions do not.
    assert second.output[0]["content"][0]["text"] == "New rules | first | Old rules | first | second"
    third = create(service, input="third", previous_response_id=second.id)
    assert text_of(backend.requests[-1].messages[-1].content) == "third"
    assert len(backend.requests[-1].messages) == 5 and third.previous_response_id == second.id


def test_store_false_keeps_nothing(service: ResponsesService, repository: InMemoryResponseRepository) -> None:
    response = create(service, input="x", store=False)
    assert response.store is False and repository.items == {}


def test_a_key_sees_only_its_own_responses(service: ResponsesService) -> None:
    response = create(service, input="mine")
    assert service.get(response.id, "key-a").id == response.id
    for call in (service.get, service.delete):
        with pytest.raises(NotFoundError):
            call(response.id, "key-b")
    with pytest.raises(BadRequestError, match="not found"):
        create(service, owner="key-b", input="x", previous_response_id=response.id)
    assert service.delete(response.id, "key-a").deleted is True
    with pytest.raises(NotFoundError):
        service.get(response.id, "key-a")


def test_input_items_pages(service: ResponsesService) -> None:
    items = [{"role": "user", "content": f"m{i}"} for i in range(3)]
    response = create(service, input=items)
    page = service.input_items(response.id, "key-a", limit=2, order="asc", after=None)
    assert [i["content"][0]["text"] for i in page.data] == ["m0", "m1"] and page.has_more
    rest = service.input_items(response.id, "key-a", limit=2, order="asc", after=page.last_id)
    assert [i["content"][0]["text"] for i in rest.data] == ["m2"] and not rest.has_more
    newest = service.input_items(response.id, "key-a", limit=1, order="desc", after=None)
    assert newest.data[0]["content"][0]["text"] == "m2"


async def _drain(service: ResponsesService, **fields: Any) -> list[dict[str, Any]]:
    request = ResponseCreateRequest.model_validate({"model": "m", "stream": True, **fields})
    first, rest = await service.stream(request, "key-a")
    return first + [event async for event in rest]


def test_a_streamed_response_is_stored_when_it_completes(
    service: ResponsesService, repository: InMemoryResponseRepository
) -> None:
    events = asyncio.run(_drain(service, input="x"))
    final = events[-1]
    assert final["type"] == "response.completed"
    assert repository.items[final["response"]["id"]].response["output"][0]["content"][0]["text"] == "one two"


def test_an_error_mid_stream_fails_the_response_and_stores_nothing(
    service: ResponsesService, backend: EchoBackend, repository: InMemoryResponseRepository
) -> None:
    backend.fail_after_first = True
    events = asyncio.run(_drain(service, input="x"))
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["code"] == "rate_limit_exceeded" and events[-1]["response"]["status"] == "failed"
    assert repository.items == {}


def test_history_continues_from_the_carried_output(repository: InMemoryResponseRepository) -> None:
    from relay.services.responses.models import StoredResponse

    shown = [{"type": "reasoning", "id": "rs_1", "summary": []}]
    carried = [{"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "e30="}]
    stored = StoredResponse(
        id="resp_1", owner="k", created_at=1, expires_at=2, response={"output": shown}, output=carried
    )
    assert stored.history() == carried
