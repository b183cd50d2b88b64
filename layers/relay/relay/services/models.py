"""The model directory behind `/v1/models`: Bedrock's catalogue plus registered SageMaker targets."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.bedrock.catalog import BedrockCatalog
from relay.errors import ModelNotFoundError, ServiceUnavailableError
from relay.protocol.models import Model
from relay.services.registry import ModelRegistryRepository, SageMakerTarget, normalize_model_id

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


class ModelDirectory:
    def __init__(
        self,
        bedrock: BedrockCatalog,
        registry: ModelRegistryRepository,
        extra_sources: tuple[ExtraSource, ...] = (),
    ) -> None:
        self._bedrock = bedrock
        self._registry = registry
        self._extra = extra_sources

    def all(self) -> list[Model]:
        models = [
            Model(
                id=m.id,
                created=m.created,
                owned_by=m.provider.lower() if m.provider else "bedrock",
                name=m.name,
                type=m.type,  # type: ignore[arg-type]
                support_serverless=True,
            )
            for m in self._bedrock.models().values()
        ]
        models.extend(_sagemaker_model(t) for t in self._registered())
        for source in self._extra:
            models.extend(source())
        return models

    def get(self, model_id: str) -> Model:
        bedrock = self._bedrock.models().get(model_id)
        if bedrock is not None:
            return Model(
                id=bedrock.id,
                created=bedrock.created,
                owned_by=bedrock.provider.lower() if bedrock.provider else "bedrock",
                name=bedrock.name,
                type=bedrock.type,  # type: ignore[arg-type]
                support_serverless=True,
            )
        try:
            target = self._registry.get(model_id)
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailableError("Could not read the model registry") from exc
        if target is not None:
            return _sagemaker_model(target)
        for source in self._extra:
            for model in source():
                if model.id == model_id or model.id == normalize_model_id(model_id):
                    return model
        raise ModelNotFoundError(f"The model '{model_id}' does not exist", param="model")

    def _registered(self) -> list[SageMakerTarget]:
        try:
            return self._registry.list()
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailableError("Could not read the model registry") from exc
