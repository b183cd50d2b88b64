"""OpenAI chat requests to SageMaker containers and their answers back, as pure functions.

Both chat flavours speak OpenAI's Chat Completions on /invocations: OpenAI-compatible
servers (vLLM, SGLang, LMI) natively, TGI through its Messages API (TGI >= 2.0 routes a
body with `messages` on SageMaker's /invocations to it). So the request passes through
with the model name fixed up and Relay's own fields removed; what a flavour cannot honour
is refused with a 400 naming the parameter. TGI's /generate shape is not used for chat:
it would need the model's chat template, which only the container has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from relay.errors import BadRequestError
from relay.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, CompletionUsage
from relay.translate.sagemaker.stream import address

# Relay extensions that only Bedrock can honour.
_BEDROCK_ONLY = ("guardrail_config", "cache_system_prompt")
# Fields our response models cannot carry back (OpenAI logprobs objects).
_NOT_CARRIED = ("logprobs", "top_logprobs")
# TGI's Messages API has no such parameters (and generates one choice).
_TGI_UNSUPPORTED = ("logit_bias", "top_k", "reasoning_effort", "parallel_tool_calls")
# Reasoning fields Relay adds to assistant turns; containers do not accept them back.
_HISTORY_EXTENSIONS = ("reasoning_content", "reasoning_signature", "thinking_blocks")
# TGI's Messages API says why it stopped in its own words where a stop sequence or EOS ended it.
_FINISH_REASONS = {"stop_sequence": "stop", "eos_token": "stop"}
# TGI before 2.2 refuses a Messages body without `model`; it serves one model, so any name does.
TGI_MODEL = "tgi"


def to_container(
    request: ChatCompletionRequest, flavour: str, served_model: str | None, *, stream: bool
) -> dict:
    body = request.model_dump(exclude_none=True, by_alias=True)
    for name in _BEDROCK_ONLY + _NOT_CARRIED:
        if body.get(name) not in (None, False):
            raise BadRequestError(f"{name} is not supported for SageMaker models", param=name)
        body.pop(name, None)
    if flavour == "tgi":
        for name in _TGI_UNSUPPORTED:
            if name in body:
                raise BadRequestError(f"{name} is not supported by TGI endpoints", param=name)
        if (request.n or 1) > 1:
            raise BadRequestError("TGI endpoints generate one choice; n must be 1", param="n")
    for message in body["messages"]:
        if message.get("role") == "assistant":
            for name in _HISTORY_EXTENSIONS:
                message.pop(name, None)
    address(body, served_model or (TGI_MODEL if flavour == "tgi" else None), stream=stream)
    return body


def from_container(answer: Any, model: str) -> ChatCompletion:
    if not isinstance(answer, dict):
        raise ValueError("the container's answer is not a JSON object")
    _normalise_choices(answer)
    return ChatCompletion.model_validate({**answer, "model": model})


def _normalise_choices(answer: dict[str, Any]) -> None:
    for choice in answer.get("choices") or []:
        if isinstance(choice, dict):
            choice.pop("logprobs", None)
            reason = choice.get("finish_reason")
            choice["finish_reason"] = (
                _FINISH_REASONS.get(reason, reason) if isinstance(reason, str) else reason
            )


@dataclass
class ChunkState:
    """Stream state: our model id, whether the client wants usage, and whether it came."""

    model: str
    include_usage: bool
    usage: CompletionUsage | None = None


def event_to_chunks(payload: str, state: ChunkState) -> list[ChatCompletionChunk]:
    """One decoded SSE payload (not `[DONE]`) to the chunks the client should see."""
    data = json.loads(payload)
    if "error" in data and "choices" not in data:
        raise ValueError(f"the container reported an error mid-stream: {data['error']}")
    _normalise_choices(data)
    chunk = ChatCompletionChunk.model_validate(
        {**data, "model": state.model, "object": "chat.completion.chunk"}
    )
    if chunk.usage is not None:
        state.usage = chunk.usage
        if not state.include_usage:
            if not chunk.choices:
                return []
            chunk.usage = None
    return [chunk]
