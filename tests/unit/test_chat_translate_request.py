"""OpenAI chat request -> Converse kwargs, checked against Converse's documented shapes."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from relay.capabilities.families import PERMISSIVE, base_model_id, family_of
from relay.errors import BadRequestError
from relay.protocol.chat import ChatCompletionRequest
from relay.translate.bedrock.chat import Defaults, response_options, to_converse
from relay.translate.bedrock.content import FetchedImage

pytestmark = pytest.mark.unit

SONNET = "us.anthropic.claude-sonnet-4-20250514-v1:0"
NOVA = "amazon.nova-lite-v1:0"
LLAMA = "meta.llama3-1-8b-instruct-v1:0"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def convert(body: dict[str, Any], model: str = NOVA, **kwargs: Any) -> dict[str, Any]:
    request = ChatCompletionRequest.model_validate({"model": model, **body})
    return to_converse(request, family_of(model), model_id=model, **kwargs)


def refused(body: dict[str, Any], model: str = NOVA) -> BadRequestError:
    with pytest.raises(BadRequestError) as caught:
        convert(body, model)
    return caught.value


def test_families_strip_region_prefixes_and_arns() -> None:
    assert (
        base_model_id("global.anthropic.claude-sonnet-4-20250514-v1:0")
        == "anthropic.claude-sonnet-4-20250514-v1:0"
    )
    assert family_of("apac.amazon.nova-pro-v1:0").name == "amazon.nova"
    assert (
        family_of("arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-8b-instruct-v1:0").name
        == "meta.llama"
    )
    assert family_of("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc") is PERMISSIVE
    assert family_of(SONNET).reasoning == "budget"
    assert family_of("anthropic.claude-3-5-haiku-20241022-v1:0").vision is False


def test_messages_parameters_and_hygiene() -> None:
    kwargs = convert(
        {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "developer", "content": [{"type": "text", "text": "use metric"}]},
                {"role": "assistant", "content": "Hi!"},
                {"role": "user", "content": "a"},
                {"role": "user", "content": [{"type": "text", "text": "  "}, {"type": "text", "text": "b"}]},
            ],
            "max_tokens": 10,
            "max_completion_tokens": 20,
            "temperature": 0.5,
            "top_p": 0.9,
            "stop": "END",
            "top_k": 5,
            "user": "alice@example.com",
        }
    )
    assert kwargs["system"] == [{"text": "be brief"}, {"text": "use metric"}]
    assert kwargs["messages"] == [
        {"role": "user", "content": [{"text": "(conversation start)"}]},
        {"role": "assistant", "content": [{"text": "Hi!"}]},
        {"role": "user", "content": [{"text": "a"}, {"text": "b"}]},
    ]
    assert kwargs["inferenceConfig"] == {
        "maxTokens": 20,
        "temperature": 0.5,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    assert kwargs["additionalModelRequestFields"] == {"inferenceConfig": {"topK": 5}}
    assert kwargs["requestMetadata"] == {"user": "alice@example.com"}


def test_tools_results_merge_and_choice() -> None:
    kwargs = convert(
        {
            "messages": [
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "t1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"c": 1}'},
                        },
                        {
                            "id": "t2",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": "{}"},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
                {"role": "tool", "tool_call_id": "t2", "content": "rainy"},
            ],
            "tools": [{**WEATHER, "cache_control": {"type": "ephemeral"}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        },
        SONNET,
    )
    assert kwargs["messages"][1]["content"][0] == {
        "toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"c": 1}}
    }
    assert kwargs["messages"][2] == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}},
            {"toolResult": {"toolUseId": "t2", "content": [{"text": "rainy"}]}},
        ],
    }
    config = kwargs["toolConfig"]
    assert config["tools"][0]["toolSpec"] == {
        "name": "get_weather",
        "inputSchema": {"json": {"type": "object"}},
    }
    assert config["tools"][1] == {"cachePoint": {"type": "default"}}
    assert config["toolChoice"] == {"tool": {"name": "get_weather"}}


def test_tool_choice_refused_where_the_family_lacks_it() -> None:
    error = refused(
        {"messages": [{"role": "user", "content": "x"}], "tools": [WEATHER], "tool_choice": "required"}, LLAMA
    )
    assert error.param == "tool_choice"
    assert (
        refused(
            {"messages": [{"role": "user", "content": "x"}], "tools": [WEATHER]}, "us.deepseek.r1-v1:0"
        ).param
        == "tools"
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"seed": 1}, "seed"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"logit_bias": {"1": 2}}, "logit_bias"),
        ({"logprobs": True}, "logprobs"),
        ({"audio": {"voice": "x"}}, "audio"),
        ({"store": True}, "store"),
        ({"reasoning_effort": "low"}, "reasoning_effort"),
        ({"frobnicate": 1}, "frobnicate"),
        ({"messages": [{"role": "user", "content": "x", "name": "bob"}]}, "messages[0].name"),
    ],
)
def test_unhonourable_parameters_are_refused_with_their_name(body: dict[str, Any], param: str) -> None:
    assert refused({"messages": [{"role": "user", "content": "x"}], **body}).param == param


def test_penalties_and_unknown_fields_pass_where_the_family_takes_them() -> None:
    kwargs = convert(
        {"messages": [{"role": "user", "content": "x"}], "seed": 7, "frequency_penalty": 0.1, "top_k": 3},
        "cohere.command-r-plus-v1:0",
    )
    assert kwargs["additionalModelRequestFields"] == {"seed": 7, "frequency_penalty": 0.1, "k": 3}
    claude = convert({"messages": [{"role": "user", "content": "x"}], "anthropic_beta": ["b"]}, SONNET)
    assert claude["additionalModelRequestFields"] == {"anthropic_beta": ["b"]}


def test_reasoning_effort_becomes_a_thinking_budget_and_signatures_round_trip() -> None:
    kwargs = convert(
        {
            "messages": [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": "a",
                    "reasoning_content": "because",
                    "reasoning_signature": "sig",
                },
                {"role": "user", "content": "again"},
            ],
            "reasoning_effort": "medium",
            "max_completion_tokens": 5000,
        },
        SONNET,
    )
    assert kwargs["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 4999}}
    assert kwargs["messages"][1]["content"][0] == {
        "reasoningContent": {"reasoningText": {"text": "because", "signature": "sig"}}
    }
    assert (
        refused(
            {"messages": [{"role": "user", "content": "q"}], "reasoning_effort": "low", "max_tokens": 500},
            SONNET,
        ).param
        == "max_completion_tokens"
    )


def test_images_documents_and_cache_points() -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    pdf = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4").decode()
    kwargs = convert(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
                        {"type": "image_url", "image_url": {"url": data_url}},
                        {"type": "image_url", "image_url": {"url": "https://img.example/cat.gif"}},
                        {"type": "file", "file": {"file_data": pdf, "filename": "report.v2.pdf"}},
                    ],
                }
            ],
            "cache_system_prompt": True,
            "messages_extra": None,
        }
        | {"messages": [{"role": "system", "content": "sys"}, *[{"role": "user", "content": [
            {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
            {"type": "image_url", "image_url": {"url": data_url}},
            {"type": "image_url", "image_url": {"url": "https://img.example/cat.gif"}},
            {"type": "file", "file": {"file_data": pdf, "filename": "report.v2.pdf"}},
        ]}]]},
        SONNET,
        images={"https://img.example/cat.gif": FetchedImage("gif", b"GIF89a")},
    )  # fmt: skip
    assert kwargs["system"] == [{"text": "sys"}, {"cachePoint": {"type": "default"}}]
    assert kwargs["messages"][0]["content"] == [
        {"text": "look"},
        {"cachePoint": {"type": "default"}},
        {"image": {"format": "png", "source": {"bytes": PNG}}},
        {"image": {"format": "gif", "source": {"bytes": b"GIF89a"}}},
        {"document": {"format": "pdf", "name": "report v2", "source": {"bytes": b"%PDF-1.4"}}},
    ]
    assert kwargs["additionalModelRequestFields"] == {"messages_extra": None}


def test_vision_refused_without_vision_and_bad_images_refused() -> None:
    part = {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
    }
    assert (
        refused({"messages": [{"role": "user", "content": [part]}]}, LLAMA).param == "messages[0].content[0]"
    )
    svg = {
        "type": "image_url",
        "image_url": {"url": "data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode()},
    }
    assert "JPEG" in refused({"messages": [{"role": "user", "content": [svg]}]}).message


def test_structured_output_native_and_forced_tool() -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": {"type": "object", "required": ["name"]}},
    }
    native = convert(
        {"messages": [{"role": "user", "content": "x"}], "response_format": fmt},
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    )
    assert native["outputConfig"]["textFormat"] == {
        "type": "json_schema",
        "structure": {"jsonSchema": {"schema": '{"type": "object", "required": ["name"]}', "name": "person"}},
    }
    forced = convert({"messages": [{"role": "user", "content": "x"}], "response_format": fmt})
    assert forced["toolConfig"]["toolChoice"] == {"tool": {"name": "person"}}
    assert forced["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"] == {
        "json": {"type": "object", "required": ["name"]}
    }
    options = response_options(
        ChatCompletionRequest.model_validate(
            {"model": NOVA, "messages": [{"role": "user", "content": "x"}], "response_format": fmt}
        ),
        family_of(NOVA),
    )
    assert options.structured_tool == "person"


def test_guardrails_from_request_or_deployment() -> None:
    body = {"messages": [{"role": "user", "content": "x"}]}
    assert convert(body, defaults=Defaults(guardrail_id="gr-1", guardrail_version="2"))[
        "guardrailConfig"
    ] == {
        "guardrailIdentifier": "gr-1",
        "guardrailVersion": "2",
    }
    own = convert(
        {**body, "guardrail_config": {"guardrailIdentifier": "mine", "guardrailVersion": "1"}},
        defaults=Defaults(guardrail_id="gr-1"),
    )
    assert own["guardrailConfig"]["guardrailIdentifier"] == "mine"


def test_legacy_functions_map_to_tools() -> None:
    kwargs = convert(
        {
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "function_call": {"name": "get_weather", "arguments": "{}"}},
                {"role": "function", "name": "get_weather", "content": "ok"},
            ],
            "functions": [WEATHER["function"]],
            "function_call": {"name": "get_weather"},
        }
    )
    assert kwargs["messages"][1]["content"][0]["toolUse"]["toolUseId"] == "call_get_weather"
    assert kwargs["messages"][2]["content"][0]["toolResult"]["toolUseId"] == "call_get_weather"
    assert kwargs["toolConfig"]["toolChoice"] == {"tool": {"name": "get_weather"}}
