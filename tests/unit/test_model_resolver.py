"""The one model resolver: registry ids first, the Bedrock catalogue second, typed targets."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from relay.backends.bedrock.catalog import BedrockCatalog
from relay.errors import BadRequestError, ModelNotFoundError, PermissionDeniedError, ServiceUnavailableError
from relay.services.registry.repository import InMemoryModelRegistry
from relay.services.resolver import CHAT_TYPES, ModelResolver
from relay.targets import BedrockTarget, SageMakerTarget

pytestmark = pytest.mark.unit

CHAT = SageMakerTarget(id="qwen/prod", endpoint_name="e-qwen", flavour="openai", type="chat", created_at=1)
BARE = SageMakerTarget(id="llama/dev", endpoint_name="e-llama", flavour="tgi", type="chat", created_at=1)
EMBED = SageMakerTarget(
    id="tei/dev", endpoint_name="e-tei", flavour="tei-embedding", type="embeddings", created_at=1
)


class Bedrock:
    """A bedrock control client: lists one chat model, or fails like an unreachable endpoint."""

    def __init__(self, *, failing: bool = False) -> None:
        self.failing = failing
        self.calls = 0

    def list_foundation_models(self) -> dict[str, Any]:
        self.calls += 1
        if self.failing:
            raise EndpointConnectionError(endpoint_url="https://bedrock.us-east-1.amazonaws.com")
        summary = {"modelId": "amazon.nova-lite-v1:0", "outputModalities": ["TEXT"], "modelName": "Nova Lite"}
        return {"modelSummaries": [summary]}

    def list_inference_profiles(self, **kwargs: Any) -> dict[str, Any]:
        return {"inferenceProfileSummaries": []}


def resolver(bedrock: Bedrock, *, allowed: tuple[str, ...] = ("*",), **kwargs: Any) -> ModelResolver:
    catalog = BedrockCatalog(lambda: bedrock, ttl=60, allowed=allowed)
    return ModelResolver(catalog, InMemoryModelRegistry([CHAT, BARE, EMBED]), **kwargs)


def chat(r: ModelResolver, model: str) -> Any:
    return r.resolve(model, types=CHAT_TYPES, route="/v1/chat/completions")


def test_registry_ids_never_read_the_catalogue() -> None:
    bedrock = Bedrock(failing=True)
    assert chat(resolver(bedrock), "qwen/prod") == CHAT
    assert bedrock.calls == 0


def test_a_bare_name_finds_the_registry_when_the_catalogue_is_down_or_misses() -> None:
    assert chat(resolver(Bedrock(failing=True)), "llama") == BARE
    assert chat(resolver(Bedrock()), "llama") == BARE


def test_bedrock_models_resolve_from_the_catalogue() -> None:
    r = resolver(Bedrock())
    assert chat(r, "amazon.nova-lite-v1:0") == BedrockTarget("amazon.nova-lite-v1:0", "chat")
    assert r.resolve_cached("amazon.nova-lite-v1:0", types=CHAT_TYPES) == BedrockTarget(
        "amazon.nova-lite-v1:0", "chat"
    )
    assert r.resolve_cached("qwen/prod", types=CHAT_TYPES) is None  # registry reads are IO


def test_an_unknown_bare_name_with_the_catalogue_down_is_503_not_404() -> None:
    with pytest.raises(ServiceUnavailableError):
        chat(resolver(Bedrock(failing=True)), "amazon.nova-pro-v1:0")
    with pytest.raises(ModelNotFoundError):
        chat(resolver(Bedrock()), "amazon.nova-pro-v1:0")


def test_the_route_type_is_checked_and_named() -> None:
    with pytest.raises(BadRequestError) as caught:
        chat(resolver(Bedrock()), "tei/dev")
    assert caught.value.param == "model" and "needs a chat model" in str(caught.value)
    found = resolver(Bedrock()).resolve("tei", types=("embeddings",), route="/v1/embeddings")
    assert found == EMBED


def test_base_models_say_they_must_be_trained_or_deployed() -> None:
    r = resolver(Bedrock(), base_models=lambda name: name == "tiny-local")
    with pytest.raises(BadRequestError, match="base model for fine-tuning"):
        chat(r, "tiny-local")


def test_arns_go_to_bedrock_within_the_allow_list() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    assert chat(resolver(Bedrock(failing=True)), arn) == BedrockTarget(arn, None)
    with pytest.raises(PermissionDeniedError):
        chat(resolver(Bedrock(), allowed=("amazon.*",)), arn)
    with pytest.raises(ModelNotFoundError):  # only routes that serve chat take ARNs as they are
        resolver(Bedrock()).resolve(arn, types=("embeddings",), route="/v1/embeddings")


def test_the_gate_sees_deployment_targets() -> None:
    deployed = SageMakerTarget(
        id="ft/v1",
        endpoint_name="engine-1",
        flavour="openai",
        type="chat",
        created_at=1,
        inference_component="dp-1",
        deployment_id="dp-1",
        status="Inactive",
    )
    seen: list[SageMakerTarget] = []

    def gate(target: SageMakerTarget) -> None:
        seen.append(target)
        if target.status == "Inactive":
            raise ServiceUnavailableError("reactivating", retry_after=30)

    catalog = BedrockCatalog(lambda: Bedrock(), ttl=60)
    r = ModelResolver(catalog, InMemoryModelRegistry([deployed, CHAT]), gate=gate)
    with pytest.raises(ServiceUnavailableError):
        chat(r, "ft/v1")
    assert chat(r, "qwen/prod") == CHAT
    assert [t.id for t in seen] == ["ft/v1", "qwen/prod"]
