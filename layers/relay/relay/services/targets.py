"""Resolve a model id to where it runs: a Bedrock model or a registered SageMaker endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.bedrock.catalog import BedrockCatalog
from relay.errors import BadRequestError, ModelNotFoundError, ServiceUnavailableError
from relay.services.registry import ModelRegistryRepository, SageMakerTarget


@dataclass(frozen=True)
class BedrockTarget:
    id: str
    type: str


Target = BedrockTarget | SageMakerTarget


class TargetResolver:
    def __init__(self, catalog: BedrockCatalog, registry: ModelRegistryRepository) -> None:
        self._catalog = catalog
        self._registry = registry

    def _registered(self, model_id: str) -> SageMakerTarget | None:
        try:
            return self._registry.get(model_id)
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailableError("Could not read the model registry", retry_after=2) from exc

    def resolve(self, model_id: str, *, types: tuple[str, ...], route: str) -> Target:
        """Blocking. Ids with a `/` are registry ids first, so Bedrock being down cannot
        break SageMaker models; bare names try Bedrock's catalogue, then the registry."""
        found: Target | None = None
        if "/" in model_id and not model_id.startswith("arn:"):
            found = self._registered(model_id)
        if found is None:
            bedrock = self._catalog.get(model_id)
            found = BedrockTarget(model_id, bedrock.type) if bedrock else self._registered(model_id)
        if found is None:
            raise ModelNotFoundError(f"The model '{model_id}' does not exist", param="model")
        if found.type not in types:
            raise BadRequestError(
                f"The model '{model_id}' is a {found.type} model; {route} needs a {' or '.join(types)} model",
                param="model",
            )
        return found
