"""The one model resolver: a client's model id to where it runs, for every inference route.

Order, so that an outage of one source never breaks the other:

1. Bedrock ARNs (application inference profiles, custom and imported models, ...) go to
   Bedrock as they are, on routes that serve chat; the deployment's allow-list covers them.
2. `name/tag` ids are registry ids: the registry answers, Bedrock's catalogue is not read.
3. Bare names try the Bedrock catalogue (cached), then the registry as `name/dev` — also
   when the catalogue cannot be listed, so a SageMaker model never waits on Bedrock.

Deployments (control-plane inference components) are registry records too: they carry
`deployment_id` and `status`, and an optional `gate` decides whether such a target may be
called now (e.g. 503 with Retry-After for a deactivated one, after asking to reactivate it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

from relay.backends.bedrock.catalog import BedrockCatalog
from relay.errors import (
    BadRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    shown,
)
from relay.protocol.models import ModelType
from relay.services.keys.current import check_model, for_key
from relay.services.registry.repository import ModelRegistryRepository
from relay.services.usage.meter import note_model
from relay.targets import BedrockTarget, SageMakerTarget, Target

# ARNs Bedrock accepts as a modelId without being in the catalogue: application inference
# profiles, provisioned throughput (custom models), prompt-management prompts.
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
ALL_TYPES: tuple[str, ...] = get_args(ModelType)
CHAT_TYPES = ("chat", "completion")

Gate = Callable[[SageMakerTarget], None]
# An OpenAI fine-tuned model id (`ft:<base>:<owner>:<suffix>:<id>[:ckpt-step-N]`) to the name of
# the deployment serving it; raises ModelNotFoundError (naming how to deploy it) when none does.
FineTunedLookup = Callable[[str], str]
FINE_TUNED_PREFIX = "ft:"


def is_bedrock_arn(model_id: str) -> bool:
    return (
        model_id.startswith("arn:aws")
        and ":bedrock:" in model_id
        and any(kind in model_id for kind in _BEDROCK_ARN_KINDS)
    )


def is_registry_id(model_id: str) -> bool:
    return "/" in model_id and not model_id.startswith("arn:")


class ModelResolver:
    def __init__(
        self,
        catalog: BedrockCatalog,
        registry: ModelRegistryRepository,
        *,
        base_models: Callable[[str], bool] = lambda _: False,
        gate: Gate | None = None,
        fine_tuned: FineTunedLookup | None = None,
    ) -> None:
        self._catalog = catalog
        self._registry = registry
        self._base_models = base_models
        self._gate = gate
        self._fine_tuned = fine_tuned

    def _arn_target(self, model_id: str) -> BedrockTarget:
        # The allow-list covers ARNs too: the resource id after the last "/" (a model or
        # profile id) or the whole ARN must match a pattern.
        resource = model_id.rsplit("/", 1)[-1]
        if not (self._catalog.is_allowed(resource) or self._catalog.is_allowed(model_id)):
            raise PermissionDeniedError(
                f"The model '{shown(model_id)}' is not allowed on this deployment", param="model"
            )
        return BedrockTarget(model_id, None)

    def find(self, model_id: str) -> Target | None:
        """Blocking. The target for an id (ARNs excluded), or None when no source has it."""
        if model_id.startswith(FINE_TUNED_PREFIX) and self._fine_tuned is not None:
            model_id = self._fine_tuned(model_id)
        if is_registry_id(model_id):
            return self._registry.get(model_id)
        catalog_error: ServiceUnavailableError | None = None
        try:
            found = self._catalog.get(model_id)
        except ServiceUnavailableError as exc:  # the catalogue is down: the registry may still answer
            catalog_error, found = exc, None
        if found is not None:
            return BedrockTarget(model_id, found.type)
        registered = self._registry.get(model_id)
        if registered is None and catalog_error is not None:
            raise catalog_error
        return registered

    def resolve(self, model_id: str, *, types: tuple[str, ...], route: str) -> Target:
        """Blocking (may list models or read the registry); call off the event loop."""
        check_model(model_id)  # the calling key's allow-list, before any lookup
        note_model(model_id)
        if "chat" in types and is_bedrock_arn(model_id):
            return self._arn_target(model_id)
        found = self.find(model_id)
        if found is None:
            if self._base_models(model_id):
                raise BadRequestError(
                    f"'{shown(model_id)}' is a base model for fine-tuning, not a deployed model: train or "
                    "deploy it, then call the deployment by its name/tag id",
                    param="model",
                )
            raise ModelNotFoundError(f"The model '{shown(model_id)}' does not exist", param="model")
        if found.type is not None and found.type not in types:
            needs = "a chat" if types == CHAT_TYPES else f"a {' or '.join(types)}"
            raise BadRequestError(
                f"The model '{shown(model_id)}' is a {found.type} model; {route} needs {needs} model",
                param="model",
            )
        if isinstance(found, SageMakerTarget) and self._gate is not None:
            self._gate(found)
        return for_key(model_id, found)

    def resolve_cached(self, model_id: str, *, types: tuple[str, ...]) -> Target | None:
        """The target when it is known without IO (ARNs, a fresh catalogue hit), else None."""
        check_model(model_id)
        note_model(model_id)
        if "chat" in types and is_bedrock_arn(model_id):
            return self._arn_target(model_id)
        if is_registry_id(model_id):
            return None
        fresh, found = self._catalog.peek(model_id)
        if fresh and found is not None and found.type in types:
            return for_key(model_id, BedrockTarget(model_id, found.type))
        return None
