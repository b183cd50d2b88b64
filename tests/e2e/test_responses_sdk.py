"""`/v1/responses` judged by the real openai SDK's `client.responses` against uvicorn on loopback."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

pytestmark = pytest.mark.e2e

NOVA = "amazon.nova-lite-v1:0"
SONNET = "us.anthropic.claude-sonnet-4-20250514-v1:0"
WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_plain_response(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(model=NOVA, input="hello there", instructions="Be brief")
    assert response.id.startswith("resp_") and response.object == "response"
    assert response.status == "completed" and response.output_text == "hello there"
    assert response.instructions == "Be brief" and response.model == NOVA
    assert response.usage is not None and response.usage.output_tokens == 2
    assert response.usage.total_tokens == response.usage.input_tokens + 2


def test_max_output_tokens_is_incomplete(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(model=NOVA, input="one two three four", max_output_tokens=2)
    assert response.status == "incomplete" and response.output_text == "one two"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"


def test_streamed_events_in_order(openai_client: openai.OpenAI) -> None:
    events = list(openai_client.responses.create(model=NOVA, input="stream these four words", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    final = events[-1].response  # type: ignore[union-attr]
    assert len(deltas) == 4 and "".join(deltas) == final.output_text == "stream these four words"


def test_function_call_round_trip_without_storage(openai_client: openai.OpenAI) -> None:
    first = openai_client.responses.create(model=NOVA, input="call get_weather", tools=[WEATHER], store=False)
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "city-1"}
    items: list[Any] = [{"role": "user", "content": "call get_weather"}, *first.output]
    items.append({"type": "function_call_output", "call_id": call.call_id, "output": "sunny"})
    second = openai_client.responses.create(model=NOVA, input=items, tools=[WEATHER], store=False)
    assert second.output_text == "The tool get_weather returned sunny."
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(first.id)


def test_streamed_function_call_arguments(openai_client: openai.OpenAI) -> None:
    events = list(
        openai_client.responses.create(model=NOVA, input="call get_weather", tools=[WEATHER], stream=True)
    )
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(deltas) == json.loads(done.arguments) == {"city": "city-1"}


def test_previous_response_id_continues_the_conversation(openai_client: openai.OpenAI) -> None:
    first = openai_client.responses.create(model=NOVA, input="call get_weather", tools=[WEATHER])
    call = next(item for item in first.output if item.type == "function_call")
    second = openai_client.responses.create(
        model=NOVA,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rainy"}],
        tools=[WEATHER],
    )
    assert second.output_text == "The tool get_weather returned rainy."
    assert second.previous_response_id == first.id
    with pytest.raises(openai.BadRequestError, match="not found"):
        openai_client.responses.create(model=NOVA, previous_response_id="resp_missing", input="hi")


def test_retrieve_input_items_and_delete(
    openai_client: openai.OpenAI, live_server: str, admin_key: str
) -> None:
    created = openai_client.responses.create(model=NOVA, input="keep this one", metadata={"k": "v"})
    fetched = openai_client.responses.retrieve(created.id)
    assert fetched.id == created.id and fetched.output_text == "keep this one"
    assert fetched.metadata == {"k": "v"}
    items = openai_client.responses.input_items.list(created.id)
    assert [i.type for i in items.data] == ["message"]
    assert items.data[0].content[0].text == "keep this one"  # type: ignore[union-attr,index]

    key = httpx.post(
        f"{live_server}/keys", headers={"Authorization": f"Bearer {admin_key}"}, json={"name": "other"}
    ).json()["key"]
    other = openai.OpenAI(base_url=live_server, api_key=key, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(created.id)

    openai_client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(created.id)


def test_json_schema_output(openai_client: openai.OpenAI) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    response = openai_client.responses.create(
        model=NOVA,
        input="Ada, 36",
        text={"format": {"type": "json_schema", "name": "person", "schema": schema, "strict": True}},
    )
    assert json.loads(response.output_text) == {"name": "name-1", "age": 1}
    assert response.text is not None and response.text.format is not None
    assert response.text.format.type == "json_schema"


def test_encrypted_reasoning_round_trips_across_a_tool_turn(openai_client: openai.OpenAI) -> None:
    options: Any = {
        "model": SONNET,
        "tools": [WEATHER],
        "reasoning": {"effort": "low", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "store": False,
    }
    first = openai_client.responses.create(input="call get_weather please", **options)
    reasoning = first.output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content
    assert reasoning.summary[0].text.startswith("Let me think about")
    call = next(item for item in first.output if item.type == "function_call")
    items: list[Any] = [{"role": "user", "content": "call get_weather please"}, *first.output]
    items.append({"type": "function_call_output", "call_id": call.call_id, "output": "sunny"})
    second = openai_client.responses.create(input=items, **options)
    assert second.output_text == "The tool get_weather returned sunny."

    forged = reasoning.model_dump()
    forged["encrypted_content"] = forged["encrypted_content"][:-8] + "AAAAAAA="
    items[1] = forged
    with pytest.raises(openai.BadRequestError):
        openai_client.responses.create(input=items, **options)


def test_built_in_tools_are_refused_by_name(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="web_search") as caught:
        openai_client.responses.create(model=NOVA, input="hi", tools=[{"type": "web_search"}])
    assert caught.value.param == "tools[0].type"
    with pytest.raises(openai.BadRequestError, match="Background"):
        openai_client.responses.create(model=NOVA, input="hi", background=True)


def test_error_after_the_first_byte_is_an_error_event(openai_client: openai.OpenAI) -> None:
    events = list(
        openai_client.responses.create(
            model=NOVA, input="several words then [[fault:stream-error]]", stream=True
        )
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-2:] == ["error", "response.failed"]
    assert events[-1].response.status == "failed"  # type: ignore[union-attr]


@pytest.mark.parametrize("stream", [False, True])
def test_previous_response_id_carries_signed_reasoning_the_client_never_saw(
    openai_client: openai.OpenAI, stream: bool
) -> None:
    # No include: the client sees no encrypted_content, yet the stored response keeps the
    # signed thinking Claude needs to continue after the tool call.
    options: Any = {"model": SONNET, "tools": [WEATHER], "reasoning": {"effort": "low"}}
    if stream:
        events = list(openai_client.responses.create(input="call get_weather", stream=True, **options))
        first = events[-1].response  # type: ignore[union-attr]
    else:
        first = openai_client.responses.create(input="call get_weather", **options)
    assert all(getattr(item, "encrypted_content", None) is None for item in first.output)
    call = next(item for item in first.output if item.type == "function_call")
    second = openai_client.responses.create(
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        **options,
    )
    assert second.output_text == "The tool get_weather returned sunny."


def test_streamed_redacted_reasoning_is_carried(openai_client: openai.OpenAI) -> None:
    trigger = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
    options: Any = {"model": SONNET, "tools": [WEATHER], "reasoning": {"effort": "low", "summary": "auto"}}
    events = list(openai_client.responses.create(input=f"call get_weather {trigger}", stream=True, **options))
    first = events[-1].response  # type: ignore[union-attr]
    assert [item.type for item in first.output][:2] == ["reasoning", "reasoning"]
    assert first.output[0].summary == []  # redacted: nothing to summarise
    call = next(item for item in first.output if item.type == "function_call")
    second = openai_client.responses.create(
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        **options,
    )
    assert second.output_text == "The tool get_weather returned sunny."
