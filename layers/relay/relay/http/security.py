"""Auth: `Authorization: Bearer <key>` or `X-API-Key: <key>`, checked before any work.

`AuthGate` (pure ASGI, inside the request-context middleware) authenticates every request
to a route that depends on `require_key` or `require_admin` before the app reads a byte of
the body: an unauthenticated 6 MB JSON costs a header lookup and a cache probe, not a
parse. It leaves the principal in the request state, where the dependencies pick it up;
they still authenticate on their own when an app is built without the gate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from relay.errors import PermissionDeniedError, RelayError
from relay.http.envelope import error_response
from relay.http.metering import is_inference, serve_metered
from relay.http.routing import STATE_KEY, Endpoint, Need, blocking, exact_routes
from relay.services.container import Services
from relay.services.keys.auth import Authenticator
from relay.services.keys.models import Principal

if TYPE_CHECKING:
    from fastapi.dependencies.models import Dependant


def presented_key(headers: Mapping[str, str] | Request) -> str | None:
    if isinstance(headers, Request):
        headers = headers.headers
    return _key_of(headers.get("authorization"), headers.get("x-api-key"))


def _scope_key(scope: Scope) -> str | None:
    """`presented_key` read straight from the ASGI scope's raw headers (the first of each, as
    `Headers.get` finds them), without building a Headers object on every request."""
    authorization = api_key = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == b"x-api-key" and api_key is None:
            api_key = value.decode("latin-1")
    return _key_of(authorization, api_key)


def _key_of(authorization: str | None, api_key: str | None) -> str | None:
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return api_key.strip() if api_key else None


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _authenticate(authenticator: Authenticator, key: str | None) -> Principal:
    """Cache hits are answered without leaving the event loop."""
    if key:
        cached = authenticator.cached(key)
        if isinstance(cached, Principal):
            return cached
    return await blocking(authenticator.authenticate, key)


async def require_key(request: Request) -> Principal:
    """Any valid key."""
    gated = request.scope.get("state", {}).get(STATE_KEY)
    if isinstance(gated, Principal):
        return gated
    return await _authenticate(services_of(request).authenticator, presented_key(request))


async def require_admin(request: Request) -> Principal:
    principal = await require_key(request)
    if not principal.is_admin:
        raise PermissionDeniedError("This route needs the admin key")
    return principal


async def optional_key_for_models(request: Request) -> Principal | None:
    """`GET /v1/models` needs a key unless the deployment says otherwise."""
    if not services_of(request).settings.models_require_key:
        return None
    return await require_key(request)


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:  # a FastAPI route's
    found: set[Callable[..., Any]] = set()
    for child in dependant.dependencies:
        if child.call is not None:
            found.add(child.call)
        found |= _calls(child)
    return found


def route_need(route: BaseRoute) -> Need | None:
    """What a route demands of the caller: the admin key, any key, or nothing. An `Endpoint`
    says so itself; a FastAPI route says so through its dependencies."""
    if isinstance(route, Endpoint):
        return route.need
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    calls = _calls(dependant)
    if require_admin in calls:
        return "admin"
    return "key" if require_key in calls else None


class AuthGate:
    """Given the app's routes (those of the routers it was built from)."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        routes = list(routes)
        self._needs = [(r, need) for r in routes if (need := route_need(r)) is not None]
        # Paths without parameters are looked up (None: an open route), not matched in turn.
        self._exact = {key: route_need(route) for key, route in exact_routes(routes).items()}

    def _need(self, scope: Scope) -> Need | None:
        key = (scope["method"], scope["path"])
        if key in self._exact:
            return self._exact[key]
        for route, need in self._needs:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return need
        return None  # an open route, a wrong method or an unknown path: the app answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        need = self._need(scope) if scope["type"] == "http" else None
        if need is None:
            await self.app(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        try:
            principal = await _authenticate(services.authenticator, _scope_key(scope))
            if need == "admin" and not principal.is_admin:
                raise PermissionDeniedError("This route needs the admin key")
        except RelayError as exc:
            await error_response(scope["path"], exc)(scope, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = principal
        if is_inference(scope):  # the key's limits, allow-list and usage meter (relay/http/metering.py)
            await serve_metered(self.app, scope, receive, send, services, principal)
            return
        await self.app(scope, receive, send)
