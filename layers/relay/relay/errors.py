"""Domain errors. Backends raise these; one HTTP handler per app turns them into responses."""

from __future__ import annotations

SHOWN_CHARS = 128


def shown(value: str, limit: int = SHOWN_CHARS) -> str:
    """`value` as an error message quotes it: a client's id is echoed, but never whole when huge."""
    return value if len(value) <= limit else f"{value[:limit]}... ({len(value)} characters)"


class RelayError(Exception):
    """Base of every error that reaches a client with a chosen status."""

    status: int = 500
    type: str = "api_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}


class BadRequestError(RelayError):
    status = 400
    type = "invalid_request_error"


class AuthenticationError(RelayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDeniedError(RelayError):
    status = 403
    type = "permission_error"


class NotFoundError(RelayError):
    status = 404
    type = "invalid_request_error"
    code = "object_not_found"


class ModelNotFoundError(NotFoundError):
    code = "model_not_found"


class ConflictError(RelayError):
    status = 409
    type = "invalid_request_error"
    code = "conflict"


class PayloadTooLargeError(RelayError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimitError(RelayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: int = 1, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.headers.setdefault("Retry-After", str(retry_after))


class UpstreamError(RelayError):
    """The model or service behind us failed (502)."""

    status = 502
    type = "api_error"
    code = "upstream_error"


class ServiceUnavailableError(RelayError):
    status = 503
    type = "api_error"
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        if retry_after is not None:
            self.headers.setdefault("Retry-After", str(retry_after))


class UpstreamTimeoutError(RelayError):
    status = 504
    type = "api_error"
    code = "upstream_timeout"
