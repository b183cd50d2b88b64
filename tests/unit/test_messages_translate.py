"""Anthropic Messages <-> chat shapes, over payloads as Anthropic documents them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relay.errors import BadRequestError, UpstreamError
from relay.protocol.chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChoiceDeltaFunctionCall,
    ChoiceDeltaToolCall,
    ChunkChoice,
    CompletionUsage,
    FunctionCall,
    PromptTokensDetails,
    SystemMessage,
    ThinkingBlock,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from relay.protocol.messages import CountTokensRequest, MessageCreateRequest
from relay.translate.messages import to_chat
from relay.translate.messages_output import from_chat
from relay.translate.messages_stream import chunk_events, end_events, new_state, start_events

pytestmark = pytest.mark.unit

WEATHER = {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}


def request(**fields: Any) -> MessageCreateRequest:
    body = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}], **fields}
    return MessageCreateRequest.model_validate(body)


def test_plain_request_maps_every_sampling_field() -> None:
    chat = to_chat(
        request(
            system="Be brief",
            temperature=0.5,
            top_p=0.9,
            top_k=40,
            stop_sequences=["END"],
            metadata={"user_id": "u-1"},
        ),
        thinking=False,
    )
    assert isinstance(chat.messages[0], SystemMessage) and chat.messages[0].content == "Be brief"
    assert isinstance(chat.messages[1], UserMessage)
    assert (chat.max_tokens, chat.temperature, chat.top_p, chat.top_k) == (100, 0.5, 0.9, 40)
    assert chat.stop == ["END"] and chat.user == "u-1"
    assert chat.extra_fields == {}


def test_system_blocks_keep_cache_control() -> None:
    chat = to_chat(
        request(system=[{"type": "text", "text": "Long", "cache_control": {"type": "ephemeral"}}]),
        thinking=False,
    )
    part = chat.messages[0].content[0]  # type: ignore[index]
    assert part.cache_control is not None  # type: ignore[union-attr]


def test_tool_round_trip_becomes_tool_calls_and_tool_messages() -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "I should call", "signature": "sig"},
                {"type": "text", "text": "Calling."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ]
    chat = to_chat(request(messages=messages, tools=[WEATHER], tool_choice={"type": "any"}), thinking=True)
    assistant = chat.messages[1]
    assert isinstance(assistant, AssistantMessage)
    assert assistant.thinking_blocks == [ThinkingBlock(thinking="I should call", signature="sig")]
    assert assistant.tool_calls is not None
    assert json.loads(assistant.tool_calls[0].function.arguments) == {"city": "Paris"}
    assert isinstance(chat.messages[2], ToolMessage) and chat.messages[2].tool_call_id == "toolu_1"
    assert isinstance(chat.messages[3], UserMessage)
    assert chat.tool_choice == "required"
    assert chat.tools is not None and chat.tools[0].function.parameters == {"type": "object"}


def tool_round(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A user turn, the assistant's call of tool `f` (id `t`), and the user's `tool_result` for it."""
    return [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", **result}]},
    ]


def test_tool_error_is_marked_and_cache_control_rides_on_the_last_part() -> None:
    messages = tool_round(
        {
            "content": [{"type": "text", "text": "boom"}],
            "is_error": True,
            "cache_control": {"type": "ephemeral"},
        }
    )
    result = to_chat(request(messages=messages), thinking=False).messages[2]
    assert isinstance(result, ToolMessage) and isinstance(result.content, list)
    assert [p.text for p in result.content] == ["(tool error) ", "boom"]  # type: ignore[union-attr]
    assert result.content[-1].cache_control is not None  # type: ignore[union-attr]


def test_images_and_documents_become_chat_parts() -> None:
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "hello"},
            "title": "n",
        },
    ]
    parts = (
        to_chat(request(messages=[{"role": "user", "content": content}]), thinking=False).messages[0].content
    )
    assert parts[0].image_url.url == "data:image/png;base64,iVBO"  # type: ignore[index,union-attr]
    assert parts[1].image_url.url == "https://example.com/a.png"  # type: ignore[index,union-attr]
    assert parts[2].file.file_data == "data:text/plain;base64,aGVsbG8="  # type: ignore[index,union-attr]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 2048}}, "thinking"),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0].type"),
        ({"container": "c"}, "container"),
        ({"stop_sequences": ["a", "b", "c", "d", "e"]}, "stop_sequences"),
        ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
    ],
)
def test_fields_that_cannot_be_honoured_are_400s_naming_them(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        to_chat(request(**fields), thinking=False)
    assert caught.value.param == param


def test_thinking_budget_is_passed_as_the_models_own_field() -> None:
    chat = to_chat(
        request(max_tokens=4000, thinking={"type": "enabled", "budget_tokens": 2048}), thinking=True
    )
    assert chat.extra_fields == {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    with pytest.raises(BadRequestError, match="below max_tokens"):
        to_chat(request(max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 2048}), thinking=True)


def test_count_tokens_request_has_no_generation_settings() -> None:
    count = CountTokensRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "Hi"}]})
    chat = to_chat(count, thinking=False)
    assert chat.max_tokens is None and chat.stream is False


def completion(
    message: ChatCompletionMessage, finish: str, usage: CompletionUsage | None = None
) -> ChatCompletion:
    choice = Choice(finish_reason=finish, index=0, message=message)  # type: ignore[arg-type]
    return ChatCompletion(id="chatcmpl-abc", choices=[choice], model="m", usage=usage)


def test_response_blocks_usage_and_stop_reason() -> None:
    message = ChatCompletionMessage(
        content="Calling.",
        tool_calls=[ToolCall(id="toolu_1", function=FunctionCall(name="f", arguments='{"a": 1}'))],
        thinking_blocks=[
            ThinkingBlock(thinking="hmm", signature="sig"),
            ThinkingBlock(type="redacted_thinking", data="eA=="),
        ],
    )
    usage = CompletionUsage(
        prompt_tokens=30,
        completion_tokens=5,
        total_tokens=35,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=10, cache_write_tokens=15),
    )
    out = from_chat(completion(message, "tool_calls", usage), "m").model_dump()
    assert out["id"] == "msg_abc" and out["stop_reason"] == "tool_use"
    assert [b["type"] for b in out["content"]] == ["thinking", "redacted_thinking", "text", "tool_use"]
    assert out["content"][0]["signature"] == "sig" and out["content"][3]["input"] == {"a": 1}
    assert out["usage"] == {
        "input_tokens": 5,
        "output_tokens": 5,
        "cache_creation_input_tokens": 15,
        "cache_read_input_tokens": 10,
    }


@pytest.mark.parametrize(
    ("finish", "stop"), [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal")]
)
def test_finish_reasons_map_to_stop_reasons(finish: str, stop: str) -> None:
    assert from_chat(completion(ChatCompletionMessage(content="x"), finish), "m").stop_reason == stop


def test_tool_arguments_that_are_not_an_object_are_an_upstream_error() -> None:
    message = ChatCompletionMessage(
        tool_calls=[ToolCall(id="t", function=FunctionCall(name="f", arguments="[1"))]
    )
    with pytest.raises(UpstreamError):
        from_chat(completion(message, "tool_calls"), "m")


def chunk(
    delta: ChoiceDelta | None = None, finish: str | None = None, usage: CompletionUsage | None = None
) -> ChatCompletionChunk:
    choices = [] if delta is None else [ChunkChoice(delta=delta, finish_reason=finish, index=0)]  # type: ignore[arg-type]
    return ChatCompletionChunk(id="chatcmpl-abc", choices=choices, created=1, model="m", usage=usage)


def test_stream_events_open_fill_and_close_blocks_in_order() -> None:
    state = new_state("chatcmpl-abc", "m")
    events = start_events(state)
    call = ChoiceDeltaToolCall(
        index=0, id="toolu_1", type="function", function=ChoiceDeltaFunctionCall(name="f", arguments="")
    )
    more = ChoiceDeltaToolCall(index=0, function=ChoiceDeltaFunctionCall(arguments='{"a": 1}'))
    for item in (
        chunk(ChoiceDelta(role="assistant", content="")),
        chunk(ChoiceDelta(reasoning_content="hmm")),
        chunk(ChoiceDelta(reasoning_signature="sig")),
        chunk(ChoiceDelta(content="Hi")),
        chunk(ChoiceDelta(tool_calls=[call])),
        chunk(ChoiceDelta(tool_calls=[more])),
        chunk(ChoiceDelta(), finish="tool_calls"),
        chunk(usage=CompletionUsage(prompt_tokens=3, completion_tokens=4, total_tokens=7)),
    ):
        events += chunk_events(item, state)
    events += end_events(state)
    kinds = [
        (
            e.type,
            getattr(e, "index", None),
            (getattr(e, "delta", None) or {}).get("type") if hasattr(e, "index") else None,
        )
        for e in events
    ]
    assert kinds == [
        ("message_start", None, None),
        ("ping", None, None),
        ("content_block_start", 0, None),
        ("content_block_delta", 0, "thinking_delta"),
        ("content_block_delta", 0, "signature_delta"),
        ("content_block_stop", 0, None),
        ("content_block_start", 1, None),
        ("content_block_delta", 1, "text_delta"),
        ("content_block_stop", 1, None),
        ("content_block_start", 2, None),
        ("content_block_delta", 2, "input_json_delta"),
        ("content_block_stop", 2, None),
        ("message_delta", None, None),
        ("message_stop", None, None),
    ]
    final = events[-2].model_dump()
    assert final["delta"]["stop_reason"] == "tool_use"
    assert final["usage"]["input_tokens"] == 3 and final["usage"]["output_tokens"] == 4
    assert events[0].model_dump()["message"]["id"] == "msg_abc"


def test_cache_control_on_a_tool_result_is_a_cache_point_after_it() -> None:
    from relay.capabilities.families import family_of
    from relay.translate.bedrock.chat import to_converse

    messages = tool_round({"content": "ok", "cache_control": {"type": "ephemeral"}})
    model = "us.anthropic.claude-sonnet-4-20250514-v1:0"
    chat = to_chat(request(messages=messages, tools=[WEATHER | {"name": "f"}]), thinking=True)
    kwargs = to_converse(chat, family_of(model), model_id=model)
    assert kwargs["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": "t", "content": [{"text": "ok"}]}},
        {"cachePoint": {"type": "default"}},
    ]


def test_a_streamed_redacted_block_opens_and_closes_with_its_data() -> None:
    state = new_state("chatcmpl-abc", "m")
    events = chunk_events(chunk(ChoiceDelta(redacted_reasoning="eA==")), state)
    events += chunk_events(chunk(ChoiceDelta(reasoning_content="hmm")), state)
    assert [(e.type, getattr(e, "index", None)) for e in events] == [
        ("content_block_start", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
    ]
    assert events[0].model_dump()["content_block"] == {"type": "redacted_thinking", "data": "eA=="}
