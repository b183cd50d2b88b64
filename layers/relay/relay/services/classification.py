"""Classification on classifier endpoints, and `/v1/invocations` pass-through to any model."""

from __future__ import annotations

import json
import uuid
from typing import Any

from relay.backends.bedrock.invoke import BedrockInvoker
from relay.backends.sagemaker.runtime import SageMakerRuntime
from relay.errors import BadRequestError, UpstreamError
from relay.protocol.classification import (
    MAX_INPUTS,
    ClassificationRequest,
    ClassificationResponse,
    ClassificationResult,
    ClassificationUsage,
    InvocationRequest,
)
from relay.services.resolver import ALL_TYPES, ModelResolver
from relay.targets import BedrockTarget, SageMakerTarget
from relay.translate.sagemaker import tasks


def _labels(target: SageMakerTarget) -> tuple[str, ...]:
    return target.labels or tuple(str(label) for label in target.metadata.get("labels", ()))


class ClassificationService:
    def __init__(self, resolver: ModelResolver, sagemaker: SageMakerRuntime) -> None:
        self._resolver = resolver
        self._sagemaker = sagemaker

    def classify(self, request: ClassificationRequest) -> ClassificationResponse:
        texts = request.items()
        if len(texts) > MAX_INPUTS or any(not t for t in texts):
            raise BadRequestError(f"input: 1 to {MAX_INPUTS} non-empty strings", param="input")
        target = self._resolver.resolve(request.model, types=("classification",), route="/v1/classification")
        if not isinstance(target, SageMakerTarget):
            raise BadRequestError("Classification runs on registered SageMaker classifiers", param="model")
        answer = self._sagemaker.invoke(target, json.dumps(tasks.classifier_body(texts)).encode())
        try:
            rows = tasks.parse_classifier(json.loads(answer.body), len(texts), _labels(target))
        except tasks.LabelMismatchError as exc:
            raise UpstreamError(f"The classifier {target.id} does not match its registration: {exc}") from exc
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise UpstreamError(f"The model {target.id} answered in an unexpected shape") from exc
        data = [
            ClassificationResult(
                index=i,
                **{request.data_format: tasks.softmax(row) if request.data_format == "probs" else row},
            )
            for i, row in enumerate(rows)
        ]
        return ClassificationResponse(
            id=f"classify-{uuid.uuid4().hex[:24]}",
            model=request.model,
            data=data,
            usage=ClassificationUsage(),
        )


class InvocationService:
    def __init__(self, resolver: ModelResolver, bedrock: BedrockInvoker, sagemaker: SageMakerRuntime) -> None:
        self._resolver = resolver
        self._bedrock = bedrock
        self._sagemaker = sagemaker

    def invoke(self, request: InvocationRequest) -> tuple[bytes, str]:
        """The model's answer, verbatim, and its content type."""
        target = self._resolver.resolve(request.model, types=ALL_TYPES, route="/v1/invocations")
        if isinstance(target, BedrockTarget):
            answer, _ = self._bedrock.invoke_model(target.id, bedrock_body(request))
            return json.dumps(answer).encode(), "application/json"
        body = tasks.invocation_body(request.input, request.parameters)
        result = self._sagemaker.invoke(target, json.dumps(body).encode())
        return result.body, result.content_type or "application/json"


def bedrock_body(request: InvocationRequest) -> dict[str, Any]:
    """Bedrock: `input` is the model's native body; `parameters` are merged into it."""
    if not isinstance(request.input, dict):
        raise BadRequestError(
            "input: for Bedrock models, input is the model's JSON body (an object)", param="input"
        )
    clash = sorted(set(request.input) & set(request.parameters or {}))
    if clash:
        raise BadRequestError(f"parameters: {', '.join(clash)} also set in input", param="parameters")
    return {**request.input, **(request.parameters or {})}
