"""Registering SageMaker endpoints as models: validation, the endpoint check, storage.

Decision on the check: an endpoint DescribeEndpoint reports as missing, Failed or Deleting
is refused (400, param `endpoint_name`). When the endpoint cannot be described for any
other reason (access denied, throttling, SageMaker unreachable) the registration is still
accepted with `endpoint_status: "unknown"`: the registry only routes, and a call to a
missing endpoint later answers 404 `model_not_found` anyway. `check_endpoint: false`
skips the call (endpoints created later, or by another account's tooling).
"""

from __future__ import annotations

import time
from typing import Protocol

from relay.errors import BadRequestError, NotFoundError, shown
from relay.protocol.registry import RegisteredModel, RegisterModelRequest
from relay.services.registry.models import (
    REFUSED_STATUSES,
    UNKNOWN,
    SageMakerTarget,
    normalize_model_id,
    to_registered,
)
from relay.services.registry.repository import ModelRegistryRepository


class Endpoints(Protocol):
    def status(self, endpoint_name: str) -> str | None:
        """The endpoint's status, None when it does not exist, `unknown` when it cannot tell."""
        ...


class ModelRegistration:
    def __init__(self, registry: ModelRegistryRepository, endpoints: Endpoints) -> None:
        self._registry = registry
        self._endpoints = endpoints

    def endpoint_status(self, endpoint_name: str) -> str:
        status = self._endpoints.status(endpoint_name)
        if status is None:
            raise BadRequestError(
                f"SageMaker endpoint {endpoint_name} does not exist in this account and region",
                param="endpoint_name",
                code="endpoint_not_found",
            )
        if status in REFUSED_STATUSES:
            raise BadRequestError(
                f"SageMaker endpoint {endpoint_name} is {status}",
                param="endpoint_name",
                code="endpoint_unusable",
            )
        return status

    def register(self, request: RegisterModelRequest) -> RegisteredModel:
        status = self.endpoint_status(request.endpoint_name) if request.check_endpoint else UNKNOWN
        target = SageMakerTarget(
            id=normalize_model_id(request.id),
            endpoint_name=request.endpoint_name,
            flavour=request.flavour,
            type=str(request.type),
            created_at=int(time.time()),
            inference_component=request.inference_component,
            labels=tuple(request.labels or ()),
            parameter_template=request.parameter_template,
            metadata=request.metadata,
        )
        self._registry.put(target, overwrite=request.overwrite)
        return to_registered(target, status)

    def list(self) -> list[RegisteredModel]:
        return [to_registered(t) for t in self._registry.list()]

    def get(self, model_id: str) -> RegisteredModel:
        target = self._registry.get(model_id)
        if target is None:
            # A control route: the control plane's `object_not_found`, not the inference routes' code.
            raise NotFoundError(f"Model {shown(normalize_model_id(model_id))} is not registered", param="id")
        return to_registered(target)

    def delete(self, model_id: str) -> str:
        self._registry.delete(model_id)
        return normalize_model_id(model_id)
