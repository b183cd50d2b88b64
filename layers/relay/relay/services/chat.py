"""Chat completions, backend-neutral: resolve the model, pick its backend, pull the first chunk.

A backend implements `ChatBackend` for one model source (Bedrock, SageMaker). The route
only talks to `ChatService`, so adding a source is one entry in `Services.chat`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from starlette.concurrency import run_in_threadpool

from relay.backends.bedrock.catalog import BedrockCatalog
from relay.catalogue.base_models import CATALOGUE_OWNER
from relay.errors import BadRequestError, ModelNotFoundError, PermissionDeniedError
from relay.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from relay.services.models import ModelDirectory

Source = Literal["bedrock", "sagemaker"]
# ARNs Bedrock accepts as a Converse modelId without being in the catalogue: application
# inference profiles, provisioned throughput (custom models), prompt-management prompts.
_BEDROCK_ARN_KINDS = (
    "application-inference-profile/",
    "inference-profile/",
    "provisioned-model/",
    "custom-model-deployment/",
    "custom-model/",
    "imported-model/",
    "foundation-model/",
    "prompt/",
)
_CHAT_TYPES = ("chat", "completion")


@dataclass(frozen=True)
class ChatTarget:
    """A resolved model: `id` as the client named it, `source` picks the backend."""

    id: str
    source: Source


class ChatBackend(Protocol):
    async def complete(self, request: ChatCompletionRequest, target: ChatTarget) -> ChatCompletion:
        """One completion (all `n` choices)."""
        ...

    def stream(
        self, request: ChatCompletionRequest, target: ChatTarget
    ) -> AsyncIterator[ChatCompletionChunk]:
        """Chunks as they come; an error before the first chunk raises from the first `__anext__`."""
        ...


def is_bedrock_arn(model_id: str) -> bool:
    return (
        model_id.startswith("arn:aws")
        and ":bedrock:" in model_id
        and any(kind in model_id for kind in _BEDROCK_ARN_KINDS)
    )


class ChatService:
    def __init__(
        self,
        catalog: BedrockCatalog,
        directory: ModelDirectory,
        backends: Mapping[Source, Callable[[], ChatBackend]],
    ) -> None:
        self._catalog = catalog
        self._directory = directory
        self._backends = backends

    def _arn_target(self, model_id: str) -> ChatTarget:
        # The deployment's model allow-list covers ARNs too: the resource id after the last
        # "/" (a model or profile id) or the whole ARN must match a pattern.
        resource = model_id.rsplit("/", 1)[-1]
        if not (self._catalog.is_allowed(resource) or self._catalog.is_allowed(model_id)):
            raise PermissionDeniedError(
                f"The model '{model_id}' is not allowed on this deployment", param="model"
            )
        return ChatTarget(model_id, "bedrock")

    def resolve(self, model_id: str) -> ChatTarget:
        """Blocking (may list models); call off the event loop."""
        if is_bedrock_arn(model_id):
            return self._arn_target(model_id)
        found = self._catalog.get(model_id)
        if found is not None:
            if found.type not in _CHAT_TYPES:
                raise BadRequestError(
                    f"The model '{model_id}' is a {found.type} model, not a chat model", param="model"
                )
            return ChatTarget(model_id, "bedrock")
        model = self._directory.get(model_id)  # raises ModelNotFoundError
        if model.owned_by == CATALOGUE_OWNER:
            raise BadRequestError(
                f"'{model_id}' is a base model for fine-tuning, not a deployed model: train or deploy "
                "it, then call the deployment by its name/tag id",
                param="model",
            )
        if model.type not in _CHAT_TYPES:
            raise BadRequestError(
                f"The model '{model_id}' is a {model.type} model, not a chat model", param="model"
            )
        return ChatTarget(model.id, "sagemaker")

    def resolve_cached(self, model_id: str) -> ChatTarget | None:
        """The target when the catalogue cache answers without IO, else None."""
        if is_bedrock_arn(model_id):
            return self._arn_target(model_id)
        fresh, found = self._catalog.peek(model_id)
        if fresh and found is not None and found.type in _CHAT_TYPES:
            return ChatTarget(model_id, "bedrock")
        return None

    async def _target(self, model_id: str) -> ChatTarget:
        cached = self.resolve_cached(model_id)
        return cached if cached is not None else await run_in_threadpool(self.resolve, model_id)

    def backend(self, target: ChatTarget) -> ChatBackend:
        factory = self._backends.get(target.source)
        if factory is None:
            raise ModelNotFoundError(f"The model '{target.id}' has no chat backend", param="model")
        return factory()

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        target = await self._target(request.model)
        return await self.backend(target).complete(request, target)

    async def stream(
        self, request: ChatCompletionRequest
    ) -> tuple[list[ChatCompletionChunk], AsyncIterator[ChatCompletionChunk]]:
        """The first chunk (pulled now, so its errors get a real status) and the rest."""
        target = await self._target(request.model)
        chunks = self.backend(target).stream(request, target)
        try:
            first = await chunks.__anext__()
        except StopAsyncIteration:
            return [], chunks
        except BaseException:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
            raise
        return [first], chunks
