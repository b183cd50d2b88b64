"""OpenAI Responses <-> chat shapes, over payloads as OpenAI documents them."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from relay.errors import BadRequestError
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
from relay.protocol.responses import ResponseCreateRequest
from relay.translate.responses import reasoning_carrier, to_chat
from relay.translate.responses_output import from_chat
from relay.translate.responses_stream import (
    ResponsesStreamState,
    chunk_events,
    close_events,
    end_events,
    final_response,
    start_events,
)

pytestmark = pytest.mark.unit

FN = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": True}


def request(**fields: Any) -> ResponseCreateRequest:
    return ResponseCreateRequest.model_validate({"model": "m", "input": "Hi", **fields})


def test_string_input_with_instructions_and_settings() -> None:
    chat = to_chat(
        request(
            instructions="Be brief",
            max_output_tokens=50,
            temperature=0.2,
            top_p=0.5,
            user="u",
            metadata={"a": "b"},
            reasoning={"effort": "low"},
            parallel_tool_calls=False,
        ),
        [],
    )
    assert isinstance(chat.messages[0], SystemMessage) and chat.messages[0].content == "Be brief"
    assert isinstance(chat.messages[1], UserMessage) and chat.messages[1].content == "Hi"
    assert (chat.max_completion_tokens, chat.temperature, chat.top_p, chat.user) == (50, 0.2, 0.5, "u")
    assert (
        chat.metadata == {"a": "b"} and chat.reasoning_effort == "low" and chat.parallel_tool_calls is False
    )
    assert chat.store is None  # storage is Relay's, not the backend's


def test_items_become_messages_with_calls_results_and_reasoning() -> None:
    block = ThinkingBlock(thinking="plan", signature="sig")
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": reasoning_carrier(block)},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Calling."}]},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    ]
    chat = to_chat(
        request(input=items, tools=[FN], tool_choice={"type": "function", "name": "get_weather"}), []
    )
    user, assistant, result = chat.messages
    assert isinstance(user, UserMessage)
    assert isinstance(assistant, AssistantMessage)
    assert assistant.thinking_blocks == [block]
    assert assistant.content[0].text == "Calling."  # type: ignore[index,union-attr]
    assert assistant.tool_calls == [
        ToolCall(id="call_1", function=FunctionCall(name="get_weather", arguments='{"city":"Paris"}'))
    ]
    assert isinstance(result, ToolMessage) and result.tool_call_id == "call_1"
    assert chat.tools is not None and chat.tools[0].function.strict is True
    assert chat.tool_choice is not None and chat.tool_choice.function.name == "get_weather"  # type: ignore[union-attr]


def test_history_comes_before_input_and_instructions_do_not_carry_over() -> None:
    history = [{"type": "message", "role": "user", "content": "first"}]
    chat = to_chat(request(input="second"), history)
    assert [m.content for m in chat.messages] == ["first", "second"]


def test_images_and_files() -> None:
    content = [
        {"type": "input_image", "image_url": "data:image/png;base64,iVBO", "detail": "low"},
        {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
    ]
    parts = to_chat(request(input=[{"role": "user", "content": content}]), []).messages[0].content
    assert parts[0].image_url.url == "data:image/png;base64,iVBO"  # type: ignore[index,union-attr]
    assert parts[1].file.filename == "a.pdf"  # type: ignore[index,union-attr]


def test_text_formats() -> None:
    schema = {"type": "object"}
    fmt = {"format": {"type": "json_schema", "name": "p", "schema": schema, "strict": True}}
    chat = to_chat(request(text=fmt), [])
    assert chat.response_format is not None and chat.response_format.json_schema is not None
    assert chat.response_format.json_schema.schema_ == schema
    json_object = to_chat(request(text={"format": {"type": "json_object"}}), []).response_format
    assert json_object is not None and json_object.type == "json_object"
    assert to_chat(request(text={"format": {"type": "text"}}), []).response_format is None


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": [{"type": "file_search"}]}, "tools[0].type"),
        ({"background": True}, "background"),
        ({"include": ["file_search_call.results"]}, "include[0]"),
        ({"truncation": "auto"}, "truncation"),
        ({"max_tool_calls": 3}, "max_tool_calls"),
        (
            {"stream": True, "stream_options": {"include_obfuscation": True}},
            "stream_options.include_obfuscation",
        ),
        ({"text": {"verbosity": "low"}}, "text.verbosity"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
        (
            {"input": [{"type": "reasoning", "summary": [], "encrypted_content": "not ours"}]},
            "input[0].encrypted_content",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
            "input[0].content[0]",
        ),
        ({"tool_choice": {"type": "web_search"}}, "tool_choice"),
    ],
)
def test_what_cannot_be_honoured_is_a_400_naming_it(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        to_chat(request(**fields), [])
    assert caught.value.param == param


def completion(message: ChatCompletionMessage, finish: str = "stop") -> ChatCompletion:
    usage = CompletionUsage(
        prompt_tokens=20,
        completion_tokens=4,
        total_tokens=24,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=8, cache_write_tokens=2),
    )
    choice = Choice(finish_reason=finish, index=0, message=message)  # type: ignore[arg-type]
    return ChatCompletion(id="chatcmpl-x", choices=[choice], model="m", usage=usage)


def test_response_items_and_usage() -> None:
    message = ChatCompletionMessage(
        content="Calling.",
        tool_calls=[ToolCall(id="call_1", function=FunctionCall(name="f", arguments="{}"))],
        thinking_blocks=[ThinkingBlock(thinking="plan", signature="sig")],
    )
    req = request(
        reasoning={"effort": "low", "summary": "auto"}, include=["reasoning.encrypted_content"], tools=[FN]
    )
    response = from_chat(completion(message, "tool_calls"), req, "resp_abc", 1).model_dump(exclude_none=True)
    reasoning, text, call = response["output"]
    assert reasoning["id"] == "rs_abc000" and reasoning["summary"] == [
        {"type": "summary_text", "text": "plan"}
    ]
    assert ThinkingBlock.model_validate_json(
        base64.b64decode(reasoning["encrypted_content"])
    ) == ThinkingBlock(thinking="plan", signature="sig")
    assert text["content"][0] == {
        "type": "output_text",
        "text": "Calling.",
        "annotations": [],
        "logprobs": [],
    }
    assert call["call_id"] == "call_1" and call["id"] == "fc_abc002"
    assert response["status"] == "completed" and response["tools"] == [FN]
    assert response["usage"]["input_tokens_details"] == {"cached_tokens": 8, "cache_write_tokens": 2}
    assert response["usage"]["total_tokens"] == 24


def test_reasoning_summary_and_encryption_are_opt_in() -> None:
    message = ChatCompletionMessage(
        content="x", thinking_blocks=[ThinkingBlock(thinking="plan", signature="s")]
    )
    item = from_chat(completion(message), request(), "resp_abc", 1).output[0]
    assert item == {"id": "rs_abc000", "type": "reasoning", "summary": []}


@pytest.mark.parametrize(
    ("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
def test_incomplete_responses(finish: str, reason: str) -> None:
    response = from_chat(completion(ChatCompletionMessage(content="x"), finish), request(), "resp_a", 1)
    assert response.status == "incomplete" and response.incomplete_details is not None
    assert response.incomplete_details.reason == reason


def chunk(
    delta: ChoiceDelta | None = None, finish: str | None = None, usage: CompletionUsage | None = None
) -> ChatCompletionChunk:
    choices = [] if delta is None else [ChunkChoice(delta=delta, finish_reason=finish, index=0)]  # type: ignore[arg-type]
    return ChatCompletionChunk(id="chatcmpl-x", choices=choices, created=1, model="m", usage=usage)


def test_stream_events_and_the_final_response_agree() -> None:
    req = request(reasoning={"summary": "auto"}, include=["reasoning.encrypted_content"])
    state = ResponsesStreamState(request=req, id="resp_abc", created_at=1)
    events = start_events(state)
    start = ChoiceDeltaToolCall(
        index=0, id="call_1", type="function", function=ChoiceDeltaFunctionCall(name="f", arguments="")
    )
    for item in (
        chunk(ChoiceDelta(role="assistant", content="")),
        chunk(ChoiceDelta(reasoning_content="pl")),
        chunk(ChoiceDelta(reasoning_content="an")),
        chunk(ChoiceDelta(reasoning_signature="sig")),
        chunk(ChoiceDelta(content="Hi ")),
        chunk(ChoiceDelta(content="there")),
        chunk(ChoiceDelta(tool_calls=[start])),
        chunk(
            ChoiceDelta(
                tool_calls=[
                    ChoiceDeltaToolCall(index=0, function=ChoiceDeltaFunctionCall(arguments='{"a":1}'))
                ]
            )
        ),
        chunk(ChoiceDelta(), finish="tool_calls"),
        chunk(usage=CompletionUsage(prompt_tokens=3, completion_tokens=5, total_tokens=8)),
    ):
        events += chunk_events(item, state)
    events += close_events(state)
    response = final_response(state)
    events += end_events(state, response)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added = [e["item"]["id"] for e in events if e["type"] == "response.output_item.added"]
    done = [e["item"]["id"] for e in events if e["type"] == "response.output_item.done"]
    assert added == done == ["rs_abc000", "msg_abc001", "fc_abc002"]
    final = events[-1]["response"]
    assert [i["id"] for i in final["output"]] == done
    assert final["output"][1]["content"][0]["text"] == "Hi there"
    assert json.loads(final["output"][2]["arguments"]) == {"a": 1}
    assert final["output"][0]["encrypted_content"] == reasoning_carrier(
        ThinkingBlock(thinking="plan", signature="sig")
    )
    assert final["usage"]["output_tokens"] == 5


def test_codex_style_fields_are_honoured() -> None:
    req = request(
        prompt_cache_key="thread-1", safety_identifier="user-9", service_tier="flex", metadata={"a": "b"}
    )
    chat = to_chat(req, [])
    assert chat.metadata == {"a": "b", "safety_identifier": "user-9"} and chat.service_tier == "flex"
    response = from_chat(completion(ChatCompletionMessage(content="x")), req, "resp_a", 1)
    assert (response.prompt_cache_key, response.safety_identifier, response.service_tier) == (
        "thread-1",
        "user-9",
        "flex",
    )
    assert response.metadata == {"a": "b"}


def test_a_streamed_redacted_block_is_one_reasoning_item_with_its_carrier() -> None:
    state = ResponsesStreamState(request=request(reasoning={"summary": "auto"}), id="resp_abc", created_at=1)
    events = chunk_events(chunk(ChoiceDelta(redacted_reasoning="eA==")), state)
    assert [e["type"] for e in events] == ["response.output_item.added", "response.output_item.done"]
    assert events[1]["item"] == {"id": "rs_abc000", "type": "reasoning", "summary": []}
    redacted = ThinkingBlock(type="redacted_thinking", data="eA==")
    assert state.carried[0]["encrypted_content"] == reasoning_carrier(redacted)
