"""The model directory behind `/v1/models`: Bedrock's catalogue plus registered SageMaker targets."""

from __future__ import annotations

from collections.abc import Callable

from relay.backends.bedrock.catalog import BedrockCatalog, BedrockModel
from relay.errors import ModelNotFoundError, shown
from relay.protocol.models import Model
from relay.services.registry.repository import ModelRegistryRepository
from relay.services.resolver import ModelResolver
from relay.targets import BedrockTarget, SageMakerTarget, normalize_model_id

ExtraSource = Callable[[], list[Model]]


def _sagemaker_model(target: SageMakerTarget) -> Model:
    return Model(
        id=target.id,
        created=target.created_at,
        owned_by="sagemaker",
        name=target.name,
        type=target.type,  # type: ignore[arg-type]
        parameter_template=target.parameter_template,
        support_serverless=False,
    )


def _bedrock_model(model: BedrockModel) -> Model:
    return Model(
        id=model.id,
        created=model.created,
        owned_by=model.provider.lower() if model.provider else "bedrock",
        name=model.name,
        type=model.type,  # type: ignore[arg-type]
        support_serverless=True,
    )


class ModelDirectory:
    def __init__(
        self,
        bedrock: BedrockCatalog,
        registry: ModelRegistryRepository,
        resolver: ModelResolver,
        extra_sources: tuple[ExtraSource, ...] = (),
    ) -> None:
        self._bedrock = bedrock
        self._registry = registry
        self._resolver = resolver
        self._extra = extra_sources

    def all(self) -> list[Model]:
        models = [_bedrock_model(m) for m in self._bedrock.models().values()]
        models.extend(_sagemaker_model(t) for t in self._registry.list())
        for source in self._extra:
            models.extend(source())
        return models

    def get(self, model_id: str) -> Model:
        """Blocking. Resolved as the inference routes resolve it, then the extra sources."""
        found = self._resolver.find(model_id)
        if isinstance(found, SageMakerTarget):
            return _sagemaker_model(found)
        if isinstance(found, BedrockTarget):
            listed = self._bedrock.get(found.id)  # served from the cache `find` just filled
            if listed is not None:
                return _bedrock_model(listed)
        for source in self._extra:
            for model in source():
                if model.id == model_id or model.id == normalize_model_id(model_id):
                    return model
        raise ModelNotFoundError(f"The model '{shown(model_id)}' does not exist", param="model")
