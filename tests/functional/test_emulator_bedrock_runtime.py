"""The bedrock-runtime emulator judged by boto3's own parser (JSON and event-stream)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EventStreamError

pytestmark = pytest.mark.functional

NOVA = "amazon.nova-lite-v1:0"
SONNET = "us.anthropic.claude-sonnet-4-20250514-v1:0"
WEATHER = {
    "toolSpec": {
        "name": "get_weather",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "integer"},
                    "unit": {"enum": ["c"]},
                },
                "required": ["city", "unit"],
            }
        },
    }
}


@pytest.fixture(scope="module")
def runtime(local_stack: object) -> Any:
    return boto3.client("bedrock-runtime")


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def code_of(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def test_converse_echoes_and_counts_words(runtime: Any) -> None:
    reply = runtime.converse(modelId=NOVA, messages=[user({"text": "the quick brown fox"})])
    assert reply["output"]["message"]["content"] == [{"text": "the quick brown fox"}]
    assert reply["stopReason"] == "end_turn"
    assert reply["usage"] == {"inputTokens": 4, "outputTokens": 4, "totalTokens": 8}


def test_max_tokens_and_stop_sequences(runtime: Any) -> None:
    cut = runtime.converse(
        modelId=NOVA, messages=[user({"text": "a b c d e"})], inferenceConfig={"maxTokens": 2}
    )
    assert cut["output"]["message"]["content"] == [{"text": "a b"}]
    assert cut["stopReason"] == "max_tokens"
    stopped = runtime.converse(
        modelId=NOVA,
        messages=[user({"text": "one two STOP three"})],
        inferenceConfig={"stopSequences": ["STOP"]},
    )
    assert stopped["output"]["message"]["content"] == [{"text": "one two "}]
    assert stopped["stopReason"] == "stop_sequence"


def test_tool_call_then_tool_result_summary(runtime: Any) -> None:
    messages = [user({"text": "please call get_weather"})]
    first = runtime.converse(modelId=NOVA, messages=messages, toolConfig={"tools": [WEATHER]})
    content = first["output"]["message"]["content"]
    assert first["stopReason"] == "tool_use"
    assert content[0] == {"text": "I will call get_weather."}
    call = content[1]["toolUse"]
    assert call["name"] == "get_weather"
    assert call["input"] == {"city": "city-1", "unit": "c"}
    messages += [
        {"role": "assistant", "content": content},
        user({"toolResult": {"toolUseId": call["toolUseId"], "content": [{"text": "sunny"}]}}),
    ]
    second = runtime.converse(modelId=NOVA, messages=messages, toolConfig={"tools": [WEATHER]})
    assert second["output"]["message"]["content"] == [{"text": "The tool get_weather returned sunny."}]


def test_stream_events_in_order(runtime: Any) -> None:
    reply = runtime.converse_stream(
        modelId=NOVA, messages=[user({"text": "call get_weather now"})], toolConfig={"tools": [WEATHER]}
    )
    events = list(reply["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    words = [
        e["contentBlockDelta"]["delta"]["text"]
        for e in events
        if "text" in e.get("contentBlockDelta", {}).get("delta", {})
    ]
    assert words == ["I ", "will ", "call ", "get_weather."]
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["contentBlockIndex"] == 1 and start["start"]["toolUse"]["name"] == "get_weather"
    pieces = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "toolUse" in e.get("contentBlockDelta", {}).get("delta", {})
    ]
    assert "".join(pieces) == '{"city": "city-1", "unit": "c"}'
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


def test_reasoning_is_signed_and_verified(runtime: Any) -> None:
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    first = runtime.converse(
        modelId=SONNET, messages=[user({"text": "why is the sky blue"})],
        additionalModelRequestFields=thinking, inferenceConfig={"maxTokens": 2048},
    )  # fmt: skip
    reasoning = first["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]
    assert reasoning["text"].startswith("Let me think about: why is the sky blue")
    assert reasoning["signature"]
    history = [user({"text": "why"}), first["output"]["message"], user({"text": "and then?"})]
    again = runtime.converse(
        modelId=SONNET,
        messages=history,
        additionalModelRequestFields=thinking,
        inferenceConfig={"maxTokens": 2048},
    )
    assert again["stopReason"] == "end_turn"
    reasoning["text"] += " (edited)"
    with pytest.raises(ClientError) as caught:
        runtime.converse(
            modelId=SONNET,
            messages=history,
            additionalModelRequestFields=thinking,
            inferenceConfig={"maxTokens": 2048},
        )
    assert "signature" in str(caught.value)


def test_cache_points_write_then_read(runtime: Any) -> None:
    messages = [
        user(
            {"text": "a long shared prefix for emulator cache test"},
            {"cachePoint": {"type": "default"}},
            {"text": "q"},
        )
    ]
    first = runtime.converse(modelId=NOVA, messages=messages)["usage"]
    second = runtime.converse(modelId=NOVA, messages=messages)["usage"]
    assert (first["cacheWriteInputTokens"], first["cacheReadInputTokens"]) == (8, 0)
    assert (second["cacheWriteInputTokens"], second["cacheReadInputTokens"]) == (0, 8)
    assert second["inputTokens"] == 1


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (
            {"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]},
            "must start with a user message",
        ),
        ({"messages": [user({"text": "a"}), user({"text": "b"})]}, "alternate"),
        ({"messages": [user({"text": "  "})]}, "is blank"),
        ({"modelId": "anthropic.claude-3-7-sonnet-20250219-v1:0"}, "on-demand throughput"),
        ({"modelId": "no.such-model"}, "model identifier is invalid"),
        (
            {
                "modelId": "cohere.command-r-plus-v1:0",
                "toolConfig": {"tools": [WEATHER], "toolChoice": {"any": {}}},
            },
            "toolChoice.any",
        ),
        ({"modelId": "us.deepseek.r1-v1:0", "toolConfig": {"tools": [WEATHER]}}, "doesn't support tool use"),
        ({"additionalModelRequestFields": {"foo": 1}}, "extraneous key [foo]"),
    ],
)
def test_validation_like_bedrock(runtime: Any, kwargs: dict[str, Any], fragment: str) -> None:
    call = {"modelId": NOVA, "messages": [user({"text": "hi"})], **kwargs}
    with pytest.raises(ClientError) as caught:
        runtime.converse(**call)
    assert code_of(caught.value) == "ValidationException"
    assert fragment in str(caught.value)


def test_streaming_tools_refused_where_bedrock_refuses(runtime: Any) -> None:
    with pytest.raises(ClientError, match="streaming mode"):
        runtime.converse_stream(
            modelId="meta.llama3-1-8b-instruct-v1:0",
            messages=[user({"text": "x"})],
            toolConfig={"tools": [WEATHER]},
        )


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("throttle", "ThrottlingException"),
        ("timeout", "ModelTimeoutException"),
        ("unavailable", "ServiceUnavailableException"),
    ],
)
def test_faults(runtime: Any, fault: str, code: str) -> None:
    with pytest.raises(ClientError) as caught:
        runtime.converse(modelId=NOVA, messages=[user({"text": f"[[fault:{fault}]]"})])
    assert code_of(caught.value) == code


def test_stream_error_midway(runtime: Any) -> None:
    reply = runtime.converse_stream(
        modelId=NOVA, messages=[user({"text": "a b c d e f [[fault:stream-error]]"})]
    )
    seen = []
    with pytest.raises(EventStreamError) as caught:
        for event in reply["stream"]:
            seen.append(event)
    assert seen and code_of(caught.value) == "modelStreamErrorException"
