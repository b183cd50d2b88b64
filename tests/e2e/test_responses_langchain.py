"""LangChain's ChatOpenAI with `use_responses_api=True` against `/v1/responses`."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

pytestmark = pytest.mark.e2e

NOVA = "amazon.nova-lite-v1:0"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def llm(live_server: str, admin_key: str) -> ChatOpenAI:
    return ChatOpenAI(
        model=NOVA,
        base_url=live_server,
        api_key=admin_key,
        use_responses_api=True,
        max_retries=0,  # type: ignore[arg-type]
    )


def test_invoke_and_stream(live_server: str, admin_key: str) -> None:
    chat = llm(live_server, admin_key)
    assert chat.invoke("hello there").text == "hello there"
    pieces = [chunk.text for chunk in chat.stream("stream these four words")]
    assert "".join(pieces) == "stream these four words"


def test_tool_round_trip(live_server: str, admin_key: str) -> None:
    chat = llm(live_server, admin_key).bind_tools([get_weather])
    question = HumanMessage("call get_weather")
    first = chat.invoke([question])
    assert [call["name"] for call in first.tool_calls] == ["get_weather"]
    call = first.tool_calls[0]
    result = ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])
    second = chat.invoke([question, first, result])
    assert second.text == "The tool get_weather returned sunny in city-1."
