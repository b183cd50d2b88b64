"""Registering SageMaker endpoints as models: validation, the DescribeEndpoint check, storage.

Decision on the check: an endpoint DescribeEndpoint reports as missing, Failed or Deleting
is refused (400, param `endpoint_name`). When the endpoint cannot be described for any
other reason (access denied, throttling, SageMaker unreachable) the registration is still
accepted with `endpoint_status: "unknown"`: the registry only routes, and a call to a
missing endpoint later answers 404 `model_not_found` anyway. `check_endpoint: false`
skips the call (endpoints created later, or by another account's tooling).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.errors import BadRequestError, ModelNotFoundError
from relay.observability import logger
from relay.protocol.registry import RegisteredModel, RegisterModelRequest
from relay.services.registry import ModelRegistryRepository, SageMakerTarget, normalize_model_id

REFUSED_STATUSES = ("Failed", "Deleting")
UNKNOWN = "unknown"


def to_registered(target: SageMakerTarget, endpoint_status: str | None = None) -> RegisteredModel:
    name, _, tag = target.id.partition("/")
    return RegisteredModel(
        id=target.id,
        name=name,
        tag=tag,
        endpoint_name=target.endpoint_name,
        inference_component=target.inference_component,
        flavour=target.flavour,
        type=target.type,
        labels=list(target.labels),
        parameter_template=target.parameter_template,
        metadata=target.metadata,
        created=target.created_at,
        endpoint_status=endpoint_status,
    )


class ModelRegistration:
    def __init__(self, registry: ModelRegistryRepository, sagemaker_factory: Callable[[], Any]) -> None:
        self._registry = registry
        self._sagemaker = sagemaker_factory

    def endpoint_status(self, endpoint_name: str) -> str:
        try:
            described = self._sagemaker().describe_endpoint(EndpointName=endpoint_name)
        except ClientError as exc:
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if error_code(exc) == "ValidationException" and "not find" in message.lower():
                raise BadRequestError(
                    f"SageMaker endpoint {endpoint_name} does not exist in this account and region",
                    param="endpoint_name",
                    code="endpoint_not_found",
                ) from exc
            logger.warning("DescribeEndpoint failed; registering anyway", extra={"code": error_code(exc)})
            return UNKNOWN
        except BotoCoreError:
            logger.warning("DescribeEndpoint unreachable; registering anyway")
            return UNKNOWN
        status = str(described.get("EndpointStatus", UNKNOWN))
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
            raise ModelNotFoundError(f"Model {normalize_model_id(model_id)} is not registered", param="id")
        return to_registered(target)

    def delete(self, model_id: str) -> str:
        self._registry.delete(model_id)
        return normalize_model_id(model_id)
