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
from relay.http.routing import Endpoint, exact_routes
from relay.http.security import AuthGate
from relay.services.container import Services
from relay.settings import get_settings

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI


# Inference routes stream through the Lambda Web Adapter; /v1/models and the control
# routes are buffered behind Mangum (template.yaml routes them to the matching function).
# Each plane imports only its own routes, so neither pays the other's import time. The data
# plane's are plain Starlette routes (relay.http.routing): it never imports FastAPI.
# method, path, handler in relay.http.routes, body model in relay.protocol (None: none or a form)
_INFERENCE_ROUTES: tuple[tuple[str, str, str, str | None], ...] = (
    ("POST", "/v1/chat/completions", "chat:chat_completions", "chat:ChatCompletionRequest"),
    ("POST", "/v1/completions", "completions:completions", "completions:CompletionRequest"),
    ("POST", "/v1/messages", "messages:create_message", "messages:MessageCreateRequest"),
    ("POST", "/v1/messages/count_tokens", "messages:count_tokens", "messages:CountTokensRequest"),
    ("POST", "/v1/responses", "responses:create_response", "responses:ResponseCreateRequest"),
    ("GET", "/v1/responses/{response_id}", "responses:retrieve_response", None),
    ("DELETE", "/v1/responses/{response_id}", "responses:delete_response", None),
    ("GET", "/v1/responses/{response_id}/input_items", "responses:list_input_items", None),
    ("POST", "/v1/embeddings", "embeddings:create_embeddings", "embeddings:EmbeddingRequest"),
    ("POST", "/v1/rerank", "tasks:rerank", "rerank:RerankRequest"),
    ("POST", "/v1/classification", "tasks:classify", "classification:ClassificationRequest"),
    ("POST", "/v1/invocations", "tasks:invoke", "classification:InvocationRequest"),
    ("POST", "/v1/audio/transcriptions", "audio:transcribe", None),
)


def data_plane_routes() -> list[BaseRoute]:
    """The inference routes. Each names its handler and body model by module path, so a route's
    module, wire models and translators are imported by its first request, not at cold start
    (SnapStart's before-checkpoint hook loads them all before the snapshot)."""
    from relay.http.routes import health

    return [
        *health.routes,
        *(
            Endpoint(
                path,
                f"relay.http.routes.{handler}",
                method=method,
                body=f"relay.protocol.{body}" if body else None,
            )
            for method, path, handler, body in _INFERENCE_ROUTES
        ),
    ]


def snapstart_routes() -> list[BaseRoute]:
    """SnapStart's hooks, for the Lambda Web Adapter alone (relay.http.routes.snapstart)."""
    hooks = "relay.http.routes.snapstart"
    return [
        Endpoint(path, f"{hooks}:{name}", method="POST", need=None, include_in_schema=False)
        for path, name in (
            ("/_relay/snapstart/before-checkpoint", "before_checkpoint"),
            ("/_relay/snapstart/after-restore", "after_restore"),
        )
    ]


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
    services = services or Services(get_settings())
    routes = [*data_plane_routes(), *snapstart_routes()]
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
