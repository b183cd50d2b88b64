"""Errors of AWS APIs other than the model runtimes (Step Functions, SageMaker control, Lambda
Invoke, S3, Secrets Manager) as domain errors.

Mapped by error code, once, here: throttling is a 429 and an unavailable service a 503, both
with Retry-After; a code the caller expects (say ExecutionDoesNotExist) is the adapter's to
handle before calling this. Anything else is a bug or a permissions problem: a 500 whose cause
goes to the logs with its traceback.
"""

from __future__ import annotations

from typing import NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.errors import RateLimitError, RelayError, ServiceUnavailableError
from relay.observability import logger

THROTTLED = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "EC2ThrottledException",
        "SlowDown",  # S3
    }
)
UNAVAILABLE = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalServerException",
        "InternalError",  # S3
        "InternalFailure",
        "ServiceException",
        "ResourceNotReadyException",
        "ResourceConflictException",
    }
)


def raise_control_error(exc: Exception, what: str) -> NoReturn:
    """Raise the domain error for a failed control call `what` ("StartExecution"), `from exc`."""
    if isinstance(exc, BotoCoreError):
        raise ServiceUnavailableError(f"{what} could not reach AWS; try again", retry_after=1) from exc
    if not isinstance(exc, ClientError):
        raise exc
    code = error_code(exc)
    if code in THROTTLED:
        raise RateLimitError(f"{what} was throttled by AWS; try again shortly", retry_after=2) from exc
    if code in UNAVAILABLE:
        raise ServiceUnavailableError(f"{what} is unavailable; try again shortly", retry_after=2) from exc
    logger.error("AWS control call failed", extra={"call": what, "code": code}, exc_info=exc)
    raise RelayError(f"{what} failed ({code or 'unknown error'})") from exc
