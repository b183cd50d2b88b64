"""A thin adapter over sagemaker-runtime: one place that calls it and maps its errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.sagemaker.errors import map_sagemaker_error
from relay.services.registry import SageMakerTarget

JSON = "application/json"


@dataclass(frozen=True)
class Invocation:
    body: bytes
    content_type: str
    headers: dict[str, str]


class SageMakerRuntime:
    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory

    def _kwargs(self, target: SageMakerTarget, body: bytes, content_type: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "EndpointName": target.endpoint_name,
            "Body": body,
            "ContentType": content_type,
        }
        if target.inference_component:
            kwargs["InferenceComponentName"] = target.inference_component
        return kwargs

    def invoke(
        self, target: SageMakerTarget, body: bytes, *, content_type: str = JSON, accept: str = JSON
    ) -> Invocation:
        kwargs = self._kwargs(target, body, content_type)
        kwargs["Accept"] = accept
        try:
            response = self._client_factory().invoke_endpoint(**kwargs)
            payload = response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise map_sagemaker_error(exc, target.id) from exc
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return Invocation(payload, str(response.get("ContentType", JSON)), dict(headers))

    def invoke_stream(
        self, target: SageMakerTarget, body: bytes, *, content_type: str = JSON
    ) -> Iterator[bytes]:
        """PayloadPart bytes as they arrive. The call is made before the first `next()` returns,
        so errors SageMaker answers before streaming surface with their real status."""
        kwargs = self._kwargs(target, body, content_type)
        try:
            response = self._client_factory().invoke_endpoint_with_response_stream(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise map_sagemaker_error(exc, target.id) from exc
        return self._parts(response["Body"], target.id)

    @staticmethod
    def _parts(stream: Any, model: str) -> Iterator[bytes]:
        try:
            for event in stream:
                part = event.get("PayloadPart")
                if part is not None:
                    yield part.get("Bytes", b"")
                    continue
                for name in ("ModelStreamError", "InternalStreamFailure"):
                    if name in event:
                        error = ClientError(
                            {"Error": {"Code": name, **event[name]}}, "InvokeEndpointWithResponseStream"
                        )
                        raise map_sagemaker_error(error, model)
        except (ClientError, BotoCoreError) as exc:
            raise map_sagemaker_error(exc, model) from exc
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
