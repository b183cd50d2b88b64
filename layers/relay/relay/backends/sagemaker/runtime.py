"""A thin adapter over sagemaker-runtime: one place that calls it and maps its errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import ProtocolError

from relay.backends.sagemaker.errors import map_sagemaker_error
from relay.targets import SageMakerTarget

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
        except (ClientError, BotoCoreError, ProtocolError) as exc:
            raise map_sagemaker_error(exc, target.id) from exc
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return Invocation(payload, str(response.get("ContentType", JSON)), dict(headers))

    def invoke_stream(self, target: SageMakerTarget, body: bytes, *, content_type: str = JSON) -> PartStream:
        """The endpoint's PayloadPart bytes. The call is made here, so errors SageMaker answers
        before streaming surface with their real status."""
        kwargs = self._kwargs(target, body, content_type)
        try:
            response = self._client_factory().invoke_endpoint_with_response_stream(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise map_sagemaker_error(exc, target.id) from exc
        return PartStream(response["Body"], target.id)


class PartStream:
    """PayloadPart bytes of one response stream; `close` (safe from another thread) drops
    the connection, which ends a read blocked in the iterating thread."""

    def __init__(self, events: Any, model: str) -> None:
        self._events = events
        self._model = model

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()

    def __iter__(self) -> Iterator[bytes]:
        try:
            for event in self._events:
                part = event.get("PayloadPart")
                if part is not None:
                    yield part.get("Bytes", b"")
                    continue
                for name in ("ModelStreamError", "InternalStreamFailure"):
                    if name in event:
                        error = ClientError(
                            {"Error": {"Code": name, **event[name]}}, "InvokeEndpointWithResponseStream"
                        )
                        raise map_sagemaker_error(error, self._model)
        except (ClientError, BotoCoreError, ProtocolError) as exc:
            raise map_sagemaker_error(exc, self._model) from exc
        finally:
            self.close()
