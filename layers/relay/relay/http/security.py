"""Auth dependencies: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from relay.errors import PermissionDeniedError
from relay.services.keys.models import Principal
from relay.services.container import Services


def presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    api_key = request.headers.get("x-api-key")
    return api_key.strip() if api_key else None


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def require_key(request: Request) -> Principal:
    """Any valid key. Cache hits are answered without leaving the event loop."""
    authenticator = services_of(request).authenticator
    key = presented_key(request)
    if key:
        cached = authenticator.cached(key)
        if isinstance(cached, Principal):
            return cached
    return await run_in_threadpool(authenticator.authenticate, key)


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
