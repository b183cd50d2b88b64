"""An OpenAI Agents SDK agent with one function tool runs to completion against `/v1/responses`."""

from __future__ import annotations

import asyncio

import agents
import openai
import pytest

pytestmark = pytest.mark.e2e

NOVA = "amazon.nova-lite-v1:0"


@agents.function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def test_agent_with_a_function_tool_runs_to_completion(live_server: str, admin_key: str) -> None:
    # Tracing would export spans to api.openai.com; the test stays on loopback.
    agents.set_tracing_disabled(True)
    client = openai.AsyncOpenAI(base_url=live_server, api_key=admin_key, max_retries=0, timeout=30)
    model = agents.OpenAIResponsesModel(model=NOVA, openai_client=client)
    agent = agents.Agent(
        name="weather", instructions="Answer with the tool.", tools=[get_weather], model=model
    )
    result = agents.Runner.run_sync(agent, "call get_weather")
    assert result.final_output == "The tool get_weather returned sunny in city-1."
    calls = [item for item in result.new_items if item.type == "tool_call_item"]
    outputs = [item for item in result.new_items if item.type == "tool_call_output_item"]
    assert len(calls) == 1 and len(outputs) == 1 and outputs[0].output == "sunny in city-1"


def test_streamed_agent_run(live_server: str, admin_key: str) -> None:
    agents.set_tracing_disabled(True)
    client = openai.AsyncOpenAI(base_url=live_server, api_key=admin_key, max_retries=0, timeout=30)
    model = agents.OpenAIResponsesModel(model=NOVA, openai_client=client)
    agent = agents.Agent(name="weather", tools=[get_weather], model=model)

    async def run() -> str:
        streamed = agents.Runner.run_streamed(agent, "call get_weather")
        async for _ in streamed.stream_events():
            pass
        return str(streamed.final_output)

    assert asyncio.run(run()) == "The tool get_weather returned sunny in city-1."
