"""Anthropic Messages over the chat machinery: resolve once, translate, call, translate back.

Any chat model Relay serves answers `/v1/messages`: the request becomes a chat request
for the resolved target, so model resolution, limits, capability checks and error
mapping are the chat path's own.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from relay.backends.bedrock.tokens import BedrockTokenCounter
from relay.capabilities.families import PERMISSIVE, family_of
from relay.errors import BadRequestError
from relay.protocol.chat import ChatCompletionChunk
from relay.protocol.messages import (
    CountTokensRequest,
    CountTokensResponse,
    Message,
    MessageCreateRequest,
    StreamEvent,
)
from relay.services.chat import ChatService, close_quietly
from relay.targets import BedrockTarget, Target
from relay.translate.messages import to_chat
from relay.translate.messages_output import from_chat
from relay.translate.messages_stream import chunk_events, end_events, new_state, start_events


def takes_thinking_budget(target: Target) -> bool:
    """Whether the model takes Anthropic's `thinking.budget_tokens` (Claude on Bedrock)."""
    if not isinstance(target, BedrockTarget):
        return False  # SageMaker containers reason (or not) by their own settings
    family = family_of(target.id)
    # An application profile or custom model ARN does not name its model: Bedrock judges.
    return family is PERMISSIVE or family.reasoning == "budget"


class MessagesService:
    def __init__(self, chat: ChatService, counter: BedrockTokenCounter) -> None:
        self._chat = chat
        self._counter = counter

    async def create(self, request: MessageCreateRequest) -> Message:
        target = await self._chat.target(request.model)
        chat_request = to_chat(request, thinking=takes_thinking_budget(target))
        return from_chat(await self._chat.complete(chat_request, target), request.model)

    async def stream(
        self, request: MessageCreateRequest
    ) -> tuple[list[StreamEvent], AsyncIterator[StreamEvent]]:
        """The opening events (the first upstream chunk already arrived) and the rest."""
        target = await self._chat.target(request.model)
        chat_request = to_chat(request, thinking=takes_thinking_budget(target), stream=True)
        first, rest = await self._chat.stream(chat_request, target)
        state = new_state(first[0].id if first else "chatcmpl-empty", request.model)
        opening = start_events(state)
        for chunk in first:
            opening += chunk_events(chunk, state)

        async def events(chunks: AsyncIterator[ChatCompletionChunk]) -> AsyncGenerator[StreamEvent, None]:
            try:
                async for chunk in chunks:
                    for event in chunk_events(chunk, state):
                        yield event
            finally:
                await close_quietly(chunks)
            for event in end_events(state):
                yield event

        return opening, events(rest)

    async def count_tokens(self, request: CountTokensRequest) -> CountTokensResponse:
        target = await self._chat.target(request.model)
        if not isinstance(target, BedrockTarget):
            raise BadRequestError(
                f"Token counting is not available for the SageMaker model '{request.model}'", param="model"
            )
        chat_request = to_chat(request, thinking=takes_thinking_budget(target))
        return CountTokensResponse(input_tokens=await self._counter.count(chat_request, target))
