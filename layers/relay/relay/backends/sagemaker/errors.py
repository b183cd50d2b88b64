"""The one table that turns SageMaker runtime errors into domain errors."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from relay.backends.aws import model_call_failure
from relay.errors import (
    BadRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RelayError,
    ServiceUnavailableError,
    UpstreamError,
)

# A missing endpoint is not its own error code: the runtime answers ValidationError with
# "Endpoint <name> of account <id> not found." (the same for inference components) and
# DescribeEndpoint answers ValidationException with "Could not find endpoint <arn>.".
# Reading the message is unavoidable, so it happens here and only here.
_NOT_FOUND = re.compile(
    r"(Endpoint|Inference Component) .* not found|Could not find (endpoint|inference component)\b(?! config)",
    re.IGNORECASE,
)
NOT_READY_RETRY_AFTER = 10

# code -> (error class, extra kwargs); ModelError and ValidationError are special-cased below.
_TABLE: dict[str, tuple[type[RelayError], dict[str, Any]]] = {
    "ThrottlingException": (RateLimitError, {"retry_after": 1}),
    "AccessDeniedException": (PermissionDeniedError, {}),
    "ModelNotReadyException": (ServiceUnavailableError, {"retry_after": NOT_READY_RETRY_AFTER}),
    "ServiceUnavailable": (ServiceUnavailableError, {"retry_after": 5}),
    "InternalDependencyException": (ServiceUnavailableError, {"retry_after": 5}),
    "InternalFailure": (ServiceUnavailableError, {"retry_after": 5}),
    "InternalStreamFailure": (UpstreamError, {}),
    "ModelStreamError": (UpstreamError, {}),
}


def is_missing_resource(exc: ClientError) -> bool:
    """Whether a SageMaker validation error says the endpoint or inference component is missing."""
    return bool(_NOT_FOUND.search(str(exc.response.get("Error", {}).get("Message", ""))))


def _model_error(exc: ClientError, model: str) -> RelayError:
    """The container answered with an error; a 4xx is the caller's fault, anything else ours."""
    response: dict[str, Any] = exc.response
    original = response.get("OriginalStatusCode") or response.get("Error", {}).get("OriginalStatusCode")
    message = str(
        response.get("OriginalMessage")
        or response.get("Error", {}).get("OriginalMessage")
        or response.get("Error", {}).get("Message")
        or "the model container failed"
    )
    try:
        status = int(original) if original is not None else 0
    except (TypeError, ValueError):
        status = 0
    if status == 429:
        return RateLimitError(f"The model {model} is overloaded: {message}")
    if 400 <= status < 500:
        error = BadRequestError(f"The model {model} rejected the request: {message}", code="model_error")
        error.status = status if status in (400, 404, 413, 422) else 400
        return error
    return UpstreamError(f"The model {model} failed: {message}", code="model_error")


def map_sagemaker_error(exc: Exception, model: str) -> RelayError:
    """Map a botocore exception raised by a sagemaker-runtime call for `model`."""
    failure = model_call_failure(exc, "Amazon SageMaker", model)
    if isinstance(failure, RelayError):
        return failure
    code, message = failure.code, failure.message
    if code == "ModelError":
        return _model_error(failure.error, model)
    if code == "ValidationError":
        if is_missing_resource(failure.error):
            return ModelNotFoundError(
                f"The model '{model}' is registered but its SageMaker endpoint was not found: {message}",
                param="model",
            )
        return BadRequestError(f"SageMaker rejected the request for {model}: {message}")
    found = _TABLE.get(code)
    if found is None:
        return UpstreamError(f"SageMaker failed for {model}: {code or 'unknown error'} {message}".strip())
    error_class, kwargs = found
    return error_class(f"SageMaker: {message or code} (model {model})", **kwargs)
