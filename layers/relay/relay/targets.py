"""Where a model runs, as typed values shared by services and backends (no IO, no other layer).

The model resolver (`relay.services.resolver`) turns a client's model id into one of these;
backends receive it and never read the registry themselves. `ChatBackend` is the port each
chat backend implements. The protocol types it names are imported for annotations only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from relay.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest

Flavour = Literal["openai", "tgi", "tei-embedding", "tei-rerank", "whisper", "classifier"]
Source = Literal["bedrock", "sagemaker"]
DEFAULT_TAG = "dev"


def normalize_model_id(model_id: str) -> str:
    """`name` means `name/dev`; `name/tag` stays as it is."""
    return model_id if "/" in model_id else f"{model_id}/{DEFAULT_TAG}"


@dataclass(frozen=True)
class BedrockTarget:
    """A Bedrock model id, inference profile id or ARN. `type` is None for ARNs, which do
    not say what they serve: Bedrock judges the call."""

    id: str
    type: str | None
    source: Literal["bedrock"] = "bedrock"
    # The calling key's application inference profile for this model, sent as the modelId so
    # the profile's cost allocation tags attribute the spend; `id` still picks the family.
    profile_arn: str | None = None


@dataclass(frozen=True)
class SageMakerTarget:
    """A registered SageMaker endpoint (and inference component), keyed by `name/tag`.

    `deployment_id` and `status` are set by records that a control-plane deployment wrote
    (an inference component Relay manages); hand-registered endpoints leave them None.
    """

    id: str
    endpoint_name: str
    flavour: Flavour
    type: str
    created_at: int
    inference_component: str | None = None
    labels: tuple[str, ...] = ()
    parameter_template: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    deployment_id: str | None = None
    status: str | None = None
    source: Literal["sagemaker"] = "sagemaker"

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[0]


Target = BedrockTarget | SageMakerTarget
TargetT = TypeVar("TargetT", BedrockTarget, SageMakerTarget, contravariant=True)


class ChatBackend(Protocol[TargetT]):
    """One model source's chat calls; the target says which model and where it runs."""

    async def complete(self, request: ChatCompletionRequest, target: TargetT) -> ChatCompletion:
        """One completion (all `n` choices)."""
        ...

    def stream(self, request: ChatCompletionRequest, target: TargetT) -> AsyncIterator[ChatCompletionChunk]:
        """Chunks as they come; an error before the first chunk raises from the first `__anext__`."""
        ...
