"""OpenAI-compatible chat and text completions over `TextModel`, as vLLM/LMI answer them on /invocations.

Parameters the tiny model cannot honour (tools, images, logprobs, several choices, structured
output) are refused with a 400 naming them, never ignored.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from local.emulators.serving.generation import ContainerError, Sampling, Step, TextModel

# Fields that change nothing about generation here, accepted as vLLM accepts them.
INERT = {"model", "user", "metadata", "store", "service_tier", "stream", "stream_options", "n"}
INERT |= {"parallel_tool_calls", "max_tokens", "max_completion_tokens", "messages", "prompt"}
SAMPLING = {"temperature", "top_p", "top_k", "seed", "stop", "presence_penalty", "frequency_penalty"}
SAMPLING |= {"logit_bias"}
# Refused unless absent or at their "off" value.
OFF_VALUES: dict[str, tuple[Any, ...]] = {
    "tools": (None, []),
    "functions": (None, []),
    "tool_choice": (None, "none"),
    "function_call": (None, "none"),
    "logprobs": (None, False, 0),
    "top_logprobs": (None, 0),
    "response_format": (None, {"type": "text"}),
    "echo": (None, False),
    "suffix": (None, ""),
    "best_of": (None, 1),
    "modalities": (None, ["text"]),
    "audio": (None,),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "web_search_options": (None,),
}


@dataclass
class Job:
    chat: bool
    prompts: list[list[int]]
    sampling: Sampling
    stream: bool
    include_usage: bool
    model: str


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ContainerError(400, "message content must be a string or a list of parts", "messages")
    texts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text":
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise ContainerError(400, f"this model accepts text only, not {kind} content parts", "messages")
        texts.append(str(part.get("text", "")))
    return "".join(texts)


def _sampling(body: dict[str, Any]) -> Sampling:
    stop = body.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    try:
        sampling = Sampling(
            max_tokens=int(limit) if limit is not None else None,
            temperature=float(body["temperature"]) if body.get("temperature") is not None else 1.0,
            top_p=float(body["top_p"]) if body.get("top_p") is not None else 1.0,
            top_k=int(body.get("top_k") or 0),
            seed=int(body["seed"]) if body.get("seed") is not None else None,
            stop=[str(s) for s in stop],
            presence_penalty=float(body.get("presence_penalty") or 0.0),
            frequency_penalty=float(body.get("frequency_penalty") or 0.0),
            logit_bias={int(k): float(v) for k, v in (body.get("logit_bias") or {}).items()},
        )
    except (TypeError, ValueError) as exc:
        raise ContainerError(400, f"invalid sampling parameter: {exc}") from exc
    if sampling.max_tokens is not None and sampling.max_tokens < 1:
        raise ContainerError(400, "max_tokens must be at least 1", "max_tokens")
    if sampling.temperature < 0 or not 0 < sampling.top_p <= 1:
        raise ContainerError(400, "temperature must be >= 0 and top_p in (0, 1]", "temperature")
    return sampling


def parse(body: dict[str, Any], model: TextModel, served_name: str) -> Job:
    for name, allowed in OFF_VALUES.items():
        if body.get(name) not in allowed:
            raise ContainerError(400, f"{name} is not supported by this model server", name)
    unknown = sorted(set(body) - INERT - SAMPLING - set(OFF_VALUES))
    if unknown:
        raise ContainerError(400, f"unsupported parameters: {', '.join(unknown)}", unknown[0])
    if (body.get("n") or 1) != 1:
        raise ContainerError(400, "this model server generates one choice; n must be 1", "n")
    if "messages" in body:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            raise ContainerError(400, "messages must be a non-empty list", "messages")
        rendered = [{"role": str(m.get("role")), "content": _text(m.get("content"))} for m in messages]
        prompts, chat = [model.chat_prompt(rendered)], True
    elif "prompt" in body:
        raw = body["prompt"]
        items = raw if isinstance(raw, list) and raw and isinstance(raw[0], str | list) else [raw]
        prompts = [list(map(int, p)) if isinstance(p, list) else model.encode(str(p)) for p in items]
        chat = False
    else:
        raise ContainerError(400, "the body needs `messages` (chat) or `prompt` (completions)")
    return Job(
        chat=chat,
        prompts=prompts,
        sampling=_sampling(body),
        stream=bool(body.get("stream")),
        include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        model=str(body.get("model") or served_name),
    )


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def complete(job: Job, model: TextModel, adapter: str | None) -> dict[str, Any]:
    choices, prompt_tokens, completion_tokens = [], 0, 0
    for index, prompt in enumerate(job.prompts):
        steps = list(model.generate(prompt, job.sampling, adapter))
        text = "".join(step.text for step in steps)
        choice: dict[str, Any] = {"index": index, "finish_reason": steps[-1].finish, "logprobs": None}
        choice.update({"message": {"role": "assistant", "content": text}} if job.chat else {"text": text})
        choices.append(choice)
        prompt_tokens += len(prompt)
        completion_tokens += steps[-1].tokens
    return {
        "id": ("chatcmpl-" if job.chat else "cmpl-") + uuid.uuid4().hex,
        "object": "chat.completion" if job.chat else "text_completion",
        "created": int(time.time()),
        "model": job.model,
        "choices": choices,
        "usage": _usage(prompt_tokens, completion_tokens),
    }


def stream(job: Job, model: TextModel, adapter: str | None) -> Iterator[bytes]:
    """Server-sent events, one per generated piece, then usage (when asked) and [DONE]."""
    if len(job.prompts) != 1:
        raise ContainerError(400, "streamed completions take one prompt", "prompt")
    steps: Iterator[Step] = model.generate(job.prompts[0], job.sampling, adapter)
    base = {
        "id": ("chatcmpl-" if job.chat else "cmpl-") + uuid.uuid4().hex,
        "object": "chat.completion.chunk" if job.chat else "text_completion",
        "created": int(time.time()),
        "model": job.model,
    }

    def frame(data: dict[str, Any]) -> bytes:
        return f"data: {json.dumps({**base, **data}, ensure_ascii=False)}\n\n".encode()

    def events() -> Iterator[bytes]:
        if job.chat:
            yield frame({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        tokens = 0
        for step in steps:
            tokens = step.tokens
            if step.text or step.finish:
                piece: dict[str, Any] = {"delta": {"content": step.text}} if job.chat else {"text": step.text}
                if job.chat and not step.text:
                    piece = {"delta": {}}
                yield frame({"choices": [{"index": 0, **piece, "finish_reason": step.finish}]})
        if job.include_usage:
            yield frame({"choices": [], "usage": _usage(len(job.prompts[0]), tokens)})
        yield b"data: [DONE]\n\n"

    return events()
