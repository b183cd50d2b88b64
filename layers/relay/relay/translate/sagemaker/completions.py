"""Legacy completions on OpenAI-compatible containers (vLLM, SGLang, LMI), passed through as such.

These servers answer `/v1/completions` bodies on SageMaker's /invocations themselves, so a
completion is not turned into a chat request: the prompt reaches the model as written (no
chat template, which a base model may not have), and `suffix`, `echo`, `logprobs` and
`best_of` keep their meaning. A parameter the container does not support is its to refuse,
and its 4xx comes back as a 400.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from relay.protocol.completions import Completion, CompletionRequest
from relay.translate.sagemaker.stream import address

# Flavours whose servers speak OpenAI's completions API on /invocations.
COMPLETION_FLAVOURS = ("openai",)


def to_container_completion(request: CompletionRequest, served_model: str | None, *, stream: bool) -> dict:
    body = request.model_dump(exclude_none=True)
    address(body, served_model, stream=stream)
    return body


def from_container_completion(answer: Any, model: str) -> Completion:
    if not isinstance(answer, dict):
        raise ValueError("the container's answer is not a JSON object")
    return Completion.model_validate({**answer, "model": model, "object": "text_completion"})


@dataclass
class CompletionChunkState:
    model: str
    include_usage: bool


def completion_event(payload: str, state: CompletionChunkState) -> list[Completion]:
    """One decoded SSE payload (not `[DONE]`) to the completion chunks the client should see."""
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("a streamed event is not a JSON object")
    if "error" in data and "choices" not in data:
        raise ValueError(f"the container reported an error mid-stream: {data['error']}")
    chunk = Completion.model_validate({**data, "model": state.model, "object": "text_completion"})
    if chunk.usage is not None and not state.include_usage:
        if not chunk.choices:
            return []
        chunk.usage = None
    return [chunk]
