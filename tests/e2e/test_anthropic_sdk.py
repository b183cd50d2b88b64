"""`/v1/messages` judged by the real anthropic SDK against uvicorn on loopback."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

pytestmark = pytest.mark.e2e

SONNET = "us.anthropic.claude-sonnet-4-20250514-v1:0"
NOVA = "amazon.nova-lite-v1:0"
WEATHER: Any = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture()
def claude(live_server: str, admin_key: str) -> anthropic.Anthropic:
    # The SDK appends /v1/messages itself: its base URL is the server root.
    return anthropic.Anthropic(
        base_url=live_server.removesuffix("/v1"), api_key=admin_key, max_retries=0, timeout=30
    )


def test_plain_message(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model=SONNET, max_tokens=100, system="Be brief", messages=[{"role": "user", "content": "hello there"}]
    )
    assert message.id.startswith("msg_") and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text == "hello there"
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 2 and message.usage.input_tokens > 0


def test_max_tokens_stop_reason(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model=NOVA, max_tokens=2, messages=[{"role": "user", "content": "one two three four"}]
    )
    assert message.stop_reason == "max_tokens"
    assert message.content[0].type == "text" and message.content[0].text == "one two"


def test_stream_text(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model=NOVA, max_tokens=100, messages=[{"role": "user", "content": "stream these four words"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["stream ", "these ", "four ", "words"]
    assert final.content[0].type == "text" and final.content[0].text == "stream these four words"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 4


def test_tool_use_round_trip(claude: anthropic.Anthropic) -> None:
    messages: list[Any] = [{"role": "user", "content": "call get_weather for me"}]
    first = claude.messages.create(model=NOVA, max_tokens=200, tools=[WEATHER], messages=messages)
    assert first.stop_reason == "tool_use"
    use = next(b for b in first.content if b.type == "tool_use")
    assert use.name == "get_weather" and use.input == {"city": "city-1"}
    messages += [
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
    ]
    second = claude.messages.create(model=NOVA, max_tokens=200, tools=[WEATHER], messages=messages)
    assert second.content[0].type == "text"
    assert second.content[0].text == "The tool get_weather returned sunny."


def test_streamed_tool_use_assembles_input(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model=NOVA,
        max_tokens=200,
        tools=[WEATHER],
        messages=[{"role": "user", "content": "call get_weather"}],
    ) as stream:
        final = stream.get_final_message()
    use = next(b for b in final.content if b.type == "tool_use")
    assert use.input == {"city": "city-1"} and final.stop_reason == "tool_use"


def test_thinking_signatures_round_trip_across_a_tool_turn(claude: anthropic.Anthropic) -> None:
    thinking: Any = {"type": "enabled", "budget_tokens": 1024}
    messages: list[Any] = [{"role": "user", "content": "call get_weather please"}]
    first = claude.messages.create(
        model=SONNET, max_tokens=2048, thinking=thinking, tools=[WEATHER], messages=messages
    )
    block = first.content[0]
    assert block.type == "thinking" and block.thinking.startswith("Let me think about")
    assert block.signature
    use = next(b for b in first.content if b.type == "tool_use")
    messages += [
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
    ]
    second = claude.messages.create(
        model=SONNET, max_tokens=2048, thinking=thinking, tools=[WEATHER], messages=messages
    )
    assert any(b.type == "text" and b.text == "The tool get_weather returned sunny." for b in second.content)
    forged = first.model_dump()["content"]
    forged[0]["signature"] = "forged"
    messages[1] = {"role": "assistant", "content": forged}
    with pytest.raises(anthropic.BadRequestError, match="signature"):
        claude.messages.create(
            model=SONNET, max_tokens=2048, thinking=thinking, tools=[WEATHER], messages=messages
        )


def test_streamed_thinking_carries_its_signature(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model=SONNET,
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "think about this"}],
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert "thinking" in kinds and "signature" in kinds
    block = final.content[0]
    assert block.type == "thinking" and block.signature and block.thinking.startswith("Let me think about")
    assert final.content[1].type == "text" and final.content[1].text == "think about this"


def test_thinking_on_a_model_without_it_is_a_400(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="thinking"):
        claude.messages.create(
            model=NOVA,
            max_tokens=2048,
            thinking={"type": "enabled", "budget_tokens": 1024},
            messages=[{"role": "user", "content": "hi"}],
        )


def test_count_tokens(claude: anthropic.Anthropic) -> None:
    counted = claude.messages.count_tokens(
        model=SONNET, system="one two", messages=[{"role": "user", "content": "three four five"}]
    )
    assert counted.input_tokens == 5
    with pytest.raises(anthropic.BadRequestError, match="count tokens"):
        claude.messages.count_tokens(model=NOVA, messages=[{"role": "user", "content": "hi"}])


def test_bearer_auth_works_too(live_server: str, admin_key: str) -> None:
    client = anthropic.Anthropic(
        base_url=live_server.removesuffix("/v1"), auth_token=admin_key, max_retries=0
    )
    message = client.messages.create(model=NOVA, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].type == "text" and message.content[0].text == "hi"


@pytest.mark.parametrize(
    ("fault", "error_class", "kind"),
    [
        ("access", anthropic.PermissionDeniedError, "permission_error"),
        ("throttle", anthropic.RateLimitError, "rate_limit_error"),
        ("unavailable", anthropic.OverloadedError, "overloaded_error"),
        ("internal", anthropic.InternalServerError, "api_error"),
    ],
)
def test_upstream_errors_raise_the_sdks_classes(
    claude: anthropic.Anthropic, fault: str, error_class: type[Exception], kind: str
) -> None:
    with pytest.raises(error_class) as caught:
        claude.messages.create(
            model=NOVA, max_tokens=10, messages=[{"role": "user", "content": f"[[fault:{fault}]]"}]
        )
    assert caught.value.body["error"]["type"] == kind  # type: ignore[attr-defined]


def test_client_errors_raise_the_sdks_classes(claude: anthropic.Anthropic, live_server: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        claude.messages.create(
            model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError) as invalid:
        claude.messages.create(model=NOVA, max_tokens=0, messages=[{"role": "user", "content": "hi"}])
    assert invalid.value.body["type"] == "error"  # type: ignore[index]
    bad_key = anthropic.Anthropic(base_url=live_server.removesuffix("/v1"), api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad_key.messages.create(model=NOVA, max_tokens=10, messages=[{"role": "user", "content": "hi"}])


def test_error_after_the_first_byte_is_an_error_event(claude: anthropic.Anthropic) -> None:
    with (
        pytest.raises(anthropic.APIStatusError, match="stream"),
        claude.messages.stream(
            model=NOVA,
            max_tokens=100,
            messages=[{"role": "user", "content": "several words before it fails [[fault:stream-error]]"}],
        ) as stream,
    ):
        for _ in stream.text_stream:
            pass


@pytest.mark.parametrize("model", [SONNET, NOVA])
def test_stop_sequence_is_named(claude: anthropic.Anthropic, model: str) -> None:
    message = claude.messages.create(
        model=model,
        max_tokens=50,
        stop_sequences=["STOP"],
        messages=[{"role": "user", "content": "one two STOP three"}],
    )
    assert message.stop_reason == "stop_sequence" and message.stop_sequence == "STOP"
    assert message.content[0].type == "text" and message.content[0].text.strip() == "one two"
    with claude.messages.stream(
        model=model,
        max_tokens=50,
        stop_sequences=["STOP", "END"],
        messages=[{"role": "user", "content": "a END b"}],
    ) as stream:
        final = stream.get_final_message()
    # Claude names the sequence; other Converse models say only that one of several matched.
    assert final.stop_reason == "stop_sequence"
    assert final.stop_sequence == ("END" if model == SONNET else None)


REDACT = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"


@pytest.mark.parametrize("stream", [False, True])
def test_redacted_thinking_round_trips_across_a_tool_turn(claude: anthropic.Anthropic, stream: bool) -> None:
    options: Any = {
        "model": SONNET,
        "max_tokens": 2048,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [WEATHER],
    }
    messages: list[Any] = [{"role": "user", "content": f"call get_weather {REDACT}"}]
    if stream:
        with claude.messages.stream(messages=messages, **options) as events:
            first = events.get_final_message()
    else:
        first = claude.messages.create(messages=messages, **options)
    assert [b.type for b in first.content][:2] == ["redacted_thinking", "thinking"]
    use = next(b for b in first.content if b.type == "tool_use")
    messages += [
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
    ]
    second = claude.messages.create(messages=messages, **options)
    assert any(b.type == "text" and b.text == "The tool get_weather returned sunny." for b in second.content)
