"""Converse responses and ConverseStream events -> OpenAI shapes."""

from __future__ import annotations

from typing import Any

import pytest

from relay.translate.bedrock.chat import ResponseOptions
from relay.translate.bedrock.response import from_converse
from relay.translate.bedrock.stream import StreamState, converse_event_to_chunks

pytestmark = pytest.mark.unit

OPTIONS = ResponseOptions(model="m")


def response(content: list[dict[str, Any]], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5, **usage},
        "metrics": {"latencyMs": 10},
    }


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
    ],
)
def test_finish_reasons(stop: str, finish: str) -> None:
    assert from_converse(response([{"text": "x"}], stop), OPTIONS, id="c").choices[0].finish_reason == finish


def test_text_joined_tool_calls_kept_with_ids_and_usage_with_cache() -> None:
    completion = from_converse(
        response(
            [
                {"reasoningContent": {"reasoningText": {"text": "hmm ok", "signature": "s1"}}},
                {"text": "Let me "},
                {"text": "check."},
                {"toolUse": {"toolUseId": "tu_1", "name": "get_weather", "input": {"city": "Oslo"}}},
                {"toolUse": {"toolUseId": "tu_2", "name": "get_time", "input": {}}},
            ],
            "tool_use",
            cacheReadInputTokens=10,
            cacheWriteInputTokens=4,
        ),
        OPTIONS,
        id="c",
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    assert [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or []] == [
        ("tu_1", "get_weather", '{"city": "Oslo"}'),
        ("tu_2", "get_time", "{}"),
    ]
    assert (choice.message.reasoning_content, choice.message.reasoning_signature) == ("hmm ok", "s1")
    usage = completion.usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        17,
        2,
        19,
    )
    assert usage.prompt_tokens_details is not None
    assert (usage.prompt_tokens_details.cached_tokens, usage.prompt_tokens_details.cache_write_tokens) == (
        10,
        4,
    )
    # Bedrock does not report reasoning tokens separately: no invented figure.
    assert usage.completion_tokens_details is None


def test_structured_tool_becomes_content_and_legacy_functions_become_function_call() -> None:
    structured = ResponseOptions(model="m", structured_tool="person")
    raw = response([{"toolUse": {"toolUseId": "t", "name": "person", "input": {"name": "Ada"}}}], "tool_use")
    choice = from_converse(raw, structured, id="c").choices[0]
    assert (choice.message.content, choice.message.tool_calls, choice.finish_reason) == (
        '{"name": "Ada"}',
        None,
        "stop",
    )
    legacy = from_converse(
        response([{"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}], "tool_use"),
        ResponseOptions(model="m", legacy_functions=True),
        id="c",
    ).choices[0]
    assert legacy.finish_reason == "function_call"
    assert legacy.message.function_call is not None and legacy.message.function_call.name == "f"


def test_stream_tool_indexes_are_dense_and_usage_chunk_last() -> None:
    state = StreamState("c", ResponseOptions(model="m", include_usage=True))
    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"reasoningContent": {"text": "think"}}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"reasoningContent": {"signature": "sig"}}, "contentBlockIndex": 0}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": "Hi "}, "contentBlockIndex": 1}},
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "a", "name": "f"}},
                "contentBlockIndex": 2,
            }
        },
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"x":'}}, "contentBlockIndex": 2}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": " 1}"}}, "contentBlockIndex": 2}},
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "b", "name": "g"}},
                "contentBlockIndex": 3,
            }
        },
        {"contentBlockDelta": {"delta": {"toolUse": {"input": "{}"}}, "contentBlockIndex": 3}},
        {"messageStop": {"stopReason": "tool_use"}},
        {
            "metadata": {
                "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
                "metrics": {"latencyMs": 1},
            }
        },
    ]
    chunks = [c for e in events for c in converse_event_to_chunks(e, state)]
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    assert deltas[1].reasoning_content == "think" and deltas[2].reasoning_signature == "sig"
    assert deltas[3].content == "Hi "
    calls = [d.tool_calls[0] for d in deltas if d.tool_calls]
    assert [(c.index, c.id) for c in calls] == [(0, "a"), (0, None), (0, None), (1, "b"), (1, None)]
    assert "".join(c.function.arguments or "" for c in calls if c.index == 0 and c.function) == '{"x": 1}'
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 12
    assert chunks[-1].usage.completion_tokens_details is None  # not reported by Converse


def test_stream_without_include_usage_has_no_usage_chunk_and_single_tool_call_drops_extra() -> None:
    state = StreamState("c", ResponseOptions(model="m", single_tool_call=True))
    events = [
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "a", "name": "f"}},
                "contentBlockIndex": 0,
            }
        },
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "b", "name": "g"}},
                "contentBlockIndex": 1,
            }
        },
        {"contentBlockDelta": {"delta": {"toolUse": {"input": "{}"}}, "contentBlockIndex": 1}},
        {
            "metadata": {
                "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
                "metrics": {"latencyMs": 1},
            }
        },
    ]
    chunks = [c for e in events for c in converse_event_to_chunks(e, state)]
    assert len(chunks) == 1 and chunks[0].choices[0].delta.tool_calls is not None
