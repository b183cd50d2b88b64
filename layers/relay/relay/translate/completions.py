"""Legacy completions on chat models: prompt -> chat request, chat answer -> text_completion.

Each prompt becomes one user turn; a list of prompts becomes one chat request per prompt,
and choice `i * n + j` is prompt `i`'s `j`th choice, as OpenAI numbers them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from relay.errors import BadRequestError
from relay.ids import hex_id
from relay.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, CompletionUsage
from relay.protocol.completions import Completion, CompletionChoice, CompletionRequest
from relay.translate.chunks import sum_usage

_SHARED = ("model", "frequency_penalty", "logit_bias", "max_tokens", "n", "presence_penalty", "seed", "stop",
           "stream", "stream_options", "temperature", "top_p", "user")  # fmt: skip
_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


def _prompts(body: CompletionRequest) -> list[str]:
    prompt = body.prompt
    if isinstance(prompt, str):
        return [prompt]
    if all(isinstance(p, str) for p in prompt):
        return [str(p) for p in prompt]
    raise BadRequestError("Token-id prompts are not supported; send text", param="prompt")


def to_chat_requests(body: CompletionRequest) -> list[ChatCompletionRequest]:
    # Chat models cannot echo the prompt, fill in around a suffix, or score tokens.
    if body.echo:
        raise BadRequestError("echo is not supported by chat models", param="echo")
    if body.suffix:
        raise BadRequestError("suffix is not supported by chat models", param="suffix")
    if body.logprobs is not None:
        raise BadRequestError("Log probabilities are not available from Bedrock", param="logprobs")
    if body.best_of is not None and body.best_of != (body.n or 1):
        raise BadRequestError(
            "best_of other than n needs scored candidates, which chat models lack", param="best_of"
        )
    shared: dict[str, Any] = {
        name: getattr(body, name) for name in _SHARED if getattr(body, name) is not None
    }
    shared.update(body.extra_fields)
    prompts = _prompts(body)
    if not prompts:
        raise BadRequestError("prompt must not be empty", param="prompt")
    return [
        ChatCompletionRequest.model_validate({**shared, "messages": [{"role": "user", "content": p}]})
        for p in prompts
    ]


def new_completion_id() -> str:
    return f"cmpl-{hex_id()}"


def chat_to_completion(results: list[ChatCompletion], *, n: int, model: str) -> Completion:
    choices = [
        CompletionChoice(
            finish_reason=_FINISH.get(choice.finish_reason or "", "stop"),  # type: ignore[arg-type]
            index=prompt * n + choice.index,
            text=choice.message.content or "",
        )
        for prompt, result in enumerate(results)
        for choice in result.choices
    ]
    return Completion(
        id=new_completion_id(),
        choices=choices,
        created=int(time.time()),
        model=model,
        usage=sum_usage([r.usage for r in results]),
    )


@dataclass
class CompletionStreamState:
    model: str
    n: int
    prompts: int = 1
    id: str = field(default_factory=new_completion_id)
    created: int = field(default_factory=lambda: int(time.time()))
    usages: list[CompletionUsage | None] = field(default_factory=list)


def chunk_to_completion(
    chunk: ChatCompletionChunk, prompt: int, state: CompletionStreamState
) -> list[Completion]:
    if not chunk.choices and chunk.usage is not None:
        state.usages.append(chunk.usage)
        if len(state.usages) < state.prompts:
            return []
        usage = sum_usage(state.usages)
        return [Completion(id=state.id, choices=[], created=state.created, model=state.model, usage=usage)]
    choices = []
    for choice in chunk.choices:
        text = choice.delta.content or ""
        if not text and choice.finish_reason is None:
            continue
        finish = _FINISH.get(choice.finish_reason or "") if choice.finish_reason else None
        index = prompt * state.n + choice.index
        choices.append(CompletionChoice(finish_reason=finish, index=index, text=text))  # type: ignore[arg-type]
    if not choices:
        return []
    return [Completion(id=state.id, choices=choices, created=state.created, model=state.model)]
