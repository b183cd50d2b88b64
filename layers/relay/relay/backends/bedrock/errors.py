"""The one table that turns Bedrock (runtime and agent-runtime) errors into domain errors."""

from __future__ import annotations

from typing import Any

from relay.backends.aws import model_call_failure
from relay.errors import (
    BadRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RelayError,
    ServiceUnavailableError,
    UpstreamError,
    UpstreamTimeoutError,
)

# code -> (error class, extra kwargs). Stream events use the same codes (e.g. a
# `throttlingException` event is matched case-insensitively).
BEDROCK_ERRORS: dict[str, tuple[type[RelayError], dict[str, Any]]] = {
    "ValidationException": (BadRequestError, {}),
    "AccessDeniedException": (PermissionDeniedError, {}),
    "ResourceNotFoundException": (ModelNotFoundError, {"param": "model"}),
    "ThrottlingException": (RateLimitError, {"retry_after": 1}),
    "ServiceQuotaExceededException": (RateLimitError, {"retry_after": 5}),
    "ModelTimeoutException": (UpstreamTimeoutError, {}),
    "ModelNotReadyException": (ServiceUnavailableError, {"retry_after": 10}),
    "ServiceUnavailableException": (ServiceUnavailableError, {"retry_after": 5}),
    "ModelErrorException": (UpstreamError, {}),
    "ModelStreamErrorException": (UpstreamError, {}),
    "InternalServerException": (UpstreamError, {}),
    "DependencyFailedException": (UpstreamError, {}),
    "BadGatewayException": (UpstreamError, {}),
    "ConflictException": (BadRequestError, {}),
}
_BY_LOWER = {code.lower(): entry for code, entry in BEDROCK_ERRORS.items()}


def map_bedrock_error(exc: Exception, model: str) -> RelayError:
    """Map a botocore exception from a Bedrock call for `model`; anything else is re-raised."""
    failure = model_call_failure(exc, "Amazon Bedrock", model)
    if isinstance(failure, RelayError):
        return failure
    code = failure.code
    message = failure.message or code
    found = _BY_LOWER.get(code.lower())
    if found is None:
        return UpstreamError(f"Amazon Bedrock failed for {model}: {code} {message}".strip())
    error_class, kwargs = found
    return error_class(f"Amazon Bedrock: {message} (model {model})", **kwargs)
