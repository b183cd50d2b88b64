"""The one factory that builds Relay's ASGI apps from routers."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI

import relay
from relay.http.errors import install_error_handlers
from relay.http.metering import flushing_lifespan
from relay.http.middleware import RequestContextMiddleware
from relay.http.security import AuthGate
from relay.services.container import Services
from relay.settings import get_settings


# Inference routes stream through the Lambda Web Adapter; /v1/models and the control
# routes are buffered behind Mangum (template.yaml routes them to the matching function).
# Each plane imports only its own routers, so neither pays the other's import time.
def data_plane_routers() -> tuple[APIRouter, ...]:
    from relay.http.routes import audio, chat, completions, embeddings, health, messages, responses, tasks

    return (
        health.router,
        chat.router,
        completions.router,
        messages.router,
        responses.router,
        embeddings.router,
        tasks.router,
        audio.router,
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
        health,
        keys,
        models,
        projects,
        testing_functions,
        training,
        usage,
    )

    return (
        health.router,
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


def create_app(routers: Sequence[APIRouter], services: Services | None = None) -> FastAPI:
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
    for router in routers:
        if id(router) not in seen:
            seen.add(id(router))
            app.include_router(router)
    install_error_handlers(app)
    # Added first, so it runs inside the request context: refused requests still get an id and a log line.
    app.add_middleware(AuthGate, routes=[route for router in routers for route in router.routes])
    app.add_middleware(RequestContextMiddleware, max_body_bytes=services.settings.max_body_bytes)
    app.router.lifespan_context = flushing_lifespan(app.router.lifespan_context, services)
    return app


def create_data_plane_app(services: Services | None = None) -> FastAPI:
    return create_app(data_plane_routers(), services)


def create_control_plane_app(services: Services | None = None) -> FastAPI:
    return create_app(control_plane_routers(), services)


def create_local_app(services: Services | None = None) -> FastAPI:
    """Everything on one server, as `make local` serves it."""
    return create_app(data_plane_routers() + control_plane_routers(), services)
