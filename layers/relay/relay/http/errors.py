"""The one place where exceptions become HTTP responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from relay.errors import (
    BadRequestError,
    NotFoundError,
    PayloadTooLargeError,
    RelayError,
)
from relay.http.envelope import error_response
from relay.http.problems import describe
from relay.observability import logger

if TYPE_CHECKING:
    from fastapi.exceptions import RequestValidationError

Handler = Callable[[Request, Any], Awaitable[Response]]

# FastAPI raises a plain 400 HTTPException for bodies it cannot parse at all (not UTF-8,
# nested past the recursion limit): still the client's error, in its proper type.
_STATUS_ERRORS: dict[int, type[RelayError]] = {
    400: BadRequestError,
    404: NotFoundError,
    413: PayloadTooLargeError,
}


def validation_error(exc: RequestValidationError) -> BadRequestError:
    errors = exc.errors()
    first = errors[0] if errors else {}
    kind = first.get("type", "")
    if kind == "json_invalid":
        ctx = first.get("ctx") or {}
        detail = ctx.get("error", "") if isinstance(ctx, dict) else ""
        return BadRequestError(f"Malformed JSON body{': ' + str(detail) if detail else ''}")
    if tuple(first.get("loc", ())) == ("body",) and kind == "missing":
        return BadRequestError("The request needs a JSON body with Content-Type: application/json")
    return describe(errors, exc.body)


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path. Starlette's own `Allow` names only the
    first route that matched the path, and each method is its own route here."""
    routes: list[BaseRoute] = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


async def _relay(request: Request, exc: RelayError) -> Response:
    if exc.status >= 500:
        logger.warning("request failed", extra={"status": exc.status, "error": exc.message})
    return error_response(request.url.path, exc)


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    return error_response(request.url.path, validation_error(exc))


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    error_class = _STATUS_ERRORS.get(exc.status_code, RelayError)
    if exc.status_code == 404:
        error = error_class(f"Unknown route: {request.method} {request.url.path}")
    elif exc.status_code == 405:
        error = RelayError(f"Method {request.method} is not allowed on {request.url.path}")
        error.status, error.type = 405, "invalid_request_error"
    else:
        error = error_class(str(exc.detail))
        error.status = exc.status_code
    if exc.headers:
        error.headers.update(exc.headers)
    if exc.status_code == 405:
        error.headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(request.url.path, error)


async def known_error_response(scope: Scope, exc: Exception) -> Response | None:
    """The response for a RelayError or an HTTPException (404, 405, ...), as the handlers above
    give it; None for anything else (a bug: the caller answers 500)."""
    if isinstance(exc, RelayError):
        return await _relay(Request(scope), exc)
    if isinstance(exc, StarletteHTTPException):
        return await _http(Request(scope), exc)
    return None


def exception_handlers(*, fastapi: bool) -> dict[Any, Handler]:
    """Every app's handlers; FastAPI's body validation error only where FastAPI parses bodies
    (imported then, so the data plane never loads FastAPI)."""
    handlers: dict[Any, Handler] = {RelayError: _relay, StarletteHTTPException: _http}
    if fastapi:
        from fastapi.exceptions import RequestValidationError

        handlers[RequestValidationError] = _validation
    return handlers
