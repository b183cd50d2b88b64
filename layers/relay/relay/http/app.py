"""The one factory that builds Relay's ASGI apps from routers."""

from __future__ import annotations

import importlib
import re
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


# The control routers (modules in relay.http.routes, in the order the full app includes them),
# each with the paths it serves, as a regular expression. The control plane's Lambda function
# builds a router's app on the first request for one of its paths (ControlPlane), so a cold
# start imports FastAPI and one router, not all of them. tests/unit/test_control_plane_lazy.py
# checks that every route of every router is claimed by its own row and no other.
_CONTROL_ROUTERS: tuple[tuple[str, str], ...] = (
    ("docs", r"/openapi\.json|/docs(/[^/]*)?"),
    ("models", r"/v1/models(/.*)?"),
    ("projects", r"/v1/projects(/[^/]+)?/?"),
    ("datasets", r"/v1/projects/[^/]+/datasets(/.*)?"),
    ("training", r"/v1/projects/[^/]+/training-jobs(/.*)?"),
    ("deployments", r"/v1/projects/[^/]+/deployments(/.*)?"),
    ("engines", r"/v1/engines(/.*)?"),
    ("testing_functions", r"/v1/testing-functions(/.*)?"),
    ("files", r"/v1/files(/.*)?"),
    ("batches", r"/v1/batches(/.*)?"),
    ("fine_tuning", r"/v1/fine_tuning/jobs(/.*)?"),
    ("keys", r"/v1/keys(/.*)?"),
    ("usage", r"/v1/usage/?"),
    ("admin_models", r"/v1/admin/models(/.*)?"),
)
_CONTROL_PATTERNS = tuple((module, re.compile(pattern)) for module, pattern in _CONTROL_ROUTERS)


def control_plane_routers() -> tuple[APIRouter, ...]:
    return tuple(_control_router(module) for module, _ in _CONTROL_ROUTERS)


def _control_router(module: str) -> APIRouter:
    router: APIRouter = importlib.import_module(f"relay.http.routes.{module}").router
    return router


def control_router_for(path: str) -> str | None:
    """The control router (its module's name) that serves `path`, if any does."""
    for module, pattern in _CONTROL_PATTERNS:
        if pattern.fullmatch(path):
            return module
    return None


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
    """Every control route in one FastAPI app (ControlPlane builds one router's at a time)."""
    from relay.http.routes import health

    return create_app(control_plane_routers(), services, extra=health.routes)


class ControlPlane:
    """The control plane as its Lambda function serves it, behind Mangum: the FastAPI app of one
    control router, built on the first request for one of its paths (`control_router_for`).

    Importing FastAPI and every router's models was most of the function's cold start (about a
    second, `make bench`); now its import loads neither, and its first request loads FastAPI and
    the one router it needs. `/health` is served without FastAPI; a path no router claims goes to
    the app of every router (`create_control_plane_app`), so a wrong path or method is answered
    as it always was. The apps share one `Services`. One request at a time per Lambda
    environment, and nothing awaited while an app is built, so two requests never build one."""

    def __init__(self, services: Services | None = None) -> None:
        from relay.http.routes import health

        self.services = services or Services(get_settings())
        self._apps: dict[str | None, ASGIApp] = {}
        self._health = DataPlaneApp(
            routes=health.routes, middleware=_middleware(self.services, health.routes)
        )
        self._health.state.services = self.services
        self._health_paths = {route.path for route in health.routes if isinstance(route, Endpoint)}
        # Lifespan (a server's, not Lambda's: Mangum runs with lifespan="off") with the shutdown flush.
        self._lifespan = Router()
        self._lifespan.lifespan_context = flushing_lifespan(self._lifespan.lifespan_context, self.services)

    def app_for(self, path: str) -> ASGIApp:
        """The app that serves `path`, built now if it has not been yet."""
        if path in self._health_paths:
            return self._health
        module = control_router_for(path)
        app = self._apps.get(module)
        if app is None:
            if module is None:
                app = create_control_plane_app(self.services)
            else:
                app = create_app((_control_router(module),), self.services)
            self._apps[module] = app
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        await self.app_for(scope["path"])(scope, receive, send)


def create_local_app(services: Services | None = None) -> FastAPI:
    """Everything on one server, as `make local` serves it."""
    return create_app(control_plane_routers(), services, extra=data_plane_routes())
