"""Which service answers which batch-line `url`: the same calls the HTTP routes make.

Each runner parses the line's body with the route's own request model and calls the route's
own service method, so validation, model resolution, backends and error mapping are the
routes' and exist once. A batch line has no client to stream to: `stream: true` is refused.
A `/v1/responses` line honours `store` as the route does: the response is stored under the key
the line runs as (the batch's, or an SQS message's `RelayKeyId`), or, for a line run as no key,
under the service's keyless owner (see relay.services.responses.service).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from relay.errors import BadRequestError
from relay.protocol import batch
from relay.protocol.chat import ChatCompletionRequest
from relay.protocol.classification import ClassificationRequest
from relay.protocol.completions import CompletionRequest
from relay.protocol.embeddings import EmbeddingRequest
from relay.protocol.rerank import RerankRequest
from relay.protocol.responses import ResponseCreateRequest
from relay.services.keys import current
from relay.services.responses.service import owner_of

if TYPE_CHECKING:
    from relay.services.container import Services

Runner = Callable[[dict[str, Any]], Awaitable[BaseModel]]
ModelT = TypeVar("ModelT", bound=BaseModel)


def parse(model: type[ModelT], body: dict[str, Any]) -> ModelT:
    """`body` as the route's request model; a refusal names the field as the route's 400 does."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first.get("loc", ())) or None
        message = str(first.get("msg", "Invalid value"))
        raise BadRequestError(f"{param}: {message}" if param else message, param=param) from None


def _no_stream(stream: bool | None) -> None:
    if stream:
        raise BadRequestError("A batch line is answered whole: stream must be false", param="stream")


def endpoints(services: Services) -> Mapping[str, Runner]:
    """url -> runner, bound to `services` (its properties are built on first use, as for routes)."""

    async def chat(body: dict[str, Any]) -> BaseModel:
        request = parse(ChatCompletionRequest, body)
        _no_stream(request.stream)
        return await services.chat.complete(request)

    async def completions(body: dict[str, Any]) -> BaseModel:
        request = parse(CompletionRequest, body)
        _no_stream(request.stream)
        return await services.completions.complete(request)

    async def embeddings(body: dict[str, Any]) -> BaseModel:
        return await asyncio.to_thread(services.embeddings.create, parse(EmbeddingRequest, body))

    async def rerank(body: dict[str, Any]) -> BaseModel:
        return await asyncio.to_thread(services.rerank.rerank, parse(RerankRequest, body))

    async def classification(body: dict[str, Any]) -> BaseModel:
        return await asyncio.to_thread(services.classification.classify, parse(ClassificationRequest, body))

    async def responses(body: dict[str, Any]) -> BaseModel:
        request = parse(ResponseCreateRequest, body)
        _no_stream(request.stream)
        # The dispatcher binds the line's principal, as the HTTP auth gate binds a request's.
        return await services.responses.create(request, owner_of(current.current_principal()))

    return {
        batch.CHAT_URL: chat,
        batch.COMPLETIONS_URL: completions,
        batch.EMBEDDINGS_URL: embeddings,
        batch.RERANK_URL: rerank,
        batch.CLASSIFICATION_URL: classification,
        batch.RESPONSES_URL: responses,
    }
