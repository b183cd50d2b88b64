"""The one factory that builds Relay's ASGI apps from routers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Router
from starlette.types import ASGIApp, Receive, Scope, Send

import relay
from relay.http.errors import exception_handlers
from relay.http.metering import flushing_lifespan
from relay.http.middleware import RequestContextMiddleware
from relay.http.routing import Endpoint, endpoints, exact_routes
from relay.http.security import AuthGate
from relay.services.container import Services
from relay.settings import get_settings

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI


# Inference routes stream through the Lambda Web Adapter; /v1/models and the control
# routes are buffered behind Mangum (template.yaml routes them to the matching function).
# Each plane imports only its own routes, so neither pays the other's import time. The data
# plane's are plain Starlette routes (relay.http.routing): it never imports FastAPI.
def data_plane_routes() -> list[BaseRoute]:
    from relay.http.routes import audio, chat, completions, embeddings, health, messages, responses, tasks

    return endpoints(
        health.routes,
        chat.routes,
        completions.routes,
        messages.routes,
        responses.routes,
        embeddings.routes,
        tasks.routes,
        audio.routes,
    )


def control_plane_routers() -> tuple[APIRouter, ...]:
    from relay.http.routes import (
        admin_models,
        batches,
        datasets,
        deployments,
        docs,
        engines,
        files,
        fine_tuning,
        keys,
        models,
        projects,
        testing_functions,
        training,
        usage,
    )

    return (
        docs.router,
        models.router,
        projects.router,
        datasets.router,
        training.router,
        deployments.router,
        engines.router,
        testing_functions.router,
        files.router,
        batches.router,
        fine_tuning.router,
        keys.router,
        usage.router,
        admin_models.router,
    )


def _middleware(services: Services, routes: Sequence[BaseRoute]) -> list[Middleware]:
    # Outermost first: the request context (id, body limit, the request line), then the
    # auth gate, so refused requests still get an id and a line.
    return [
        Middleware(RequestContextMiddleware, max_body_bytes=services.settings.max_body_bytes),
        Middleware(AuthGate, routes=routes),
    ]


class _Dispatch:
    """The data plane's innermost layer: a request for a route without parameters goes straight to
    its endpoint (a dict lookup instead of matching the routes in turn); the rest, lifespan
    included, through Starlette's router."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.exact = {
            key: route for key, route in exact_routes(router.routes).items() if isinstance(route, Endpoint)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self.exact.get((scope["method"], scope["path"]))
            if endpoint is not None:
                await endpoint.app(scope, receive, send)
                return
        await self.router(scope, receive, send)


class DataPlaneApp(Starlette):
    """Starlette without its two outer layers: RequestContextMiddleware (outermost here) answers
    unexpected errors and turns RelayError and HTTPException into their responses, as Starlette's
    ServerErrorMiddleware and ExceptionMiddleware would, without a wrapper on every send."""

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = _Dispatch(self.router)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return app


def create_data_plane_app(services: Services | None = None) -> Starlette:
    """The data plane as the Lambda Web Adapter runs it: the inference routes and SnapStart's hooks."""
    from relay.http.routes import snapstart

    services = services or Services(get_settings())
    routes = [*data_plane_routes(), *snapstart.routes]
    app = DataPlaneApp(routes=routes, middleware=_middleware(services, routes))
    app.state.services = services
    app.router.lifespan_context = flushing_lifespan(app.router.lifespan_context, services)
    return app


def create_app(
    routers: Sequence[APIRouter], services: Services | None = None, extra: Sequence[BaseRoute] = ()
) -> FastAPI:
    """A FastAPI app of `routers`, plus plain routes (`extra`) served beside them."""
    from fastapi import FastAPI

    services = services or Services(get_settings())
    app = FastAPI(
        title="Relay",
        version=relay.__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = services
    seen: set[int] = set()
    routes: list[Any] = []
    for router in routers:
        if id(router) not in seen:
            seen.add(id(router))
            app.include_router(router)
            routes.extend(router.routes)  # FastAPI keeps an included router whole; the gate needs its routes
    app.router.routes.extend(extra)
    routes.extend(extra)
    for error, handler in exception_handlers(fastapi=True).items():
        app.add_exception_handler(error, handler)
    for middleware in reversed(_middleware(services, routes)):
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.router.lifespan_context = flushing_lifespan(app.router.lifespan_context, services)
    return app


def create_control_plane_app(services: Services | None = None) -> FastAPI:
    from relay.http.routes import health

    return create_app(control_plane_routers(), services, extra=health.routes)


def create_local_app(services: Services | None = None) -> FastAPI:
    """Everything on one server, as `make local` serves it."""
    return create_app(control_plane_routers(), services, extra=data_plane_routes())
