"""The control plane's Lambda app (relay.http.app.ControlPlane) builds one router's FastAPI app on
the first request for one of its paths: which router serves which path, and that a request
answers as the app of every router would (what `import handler` loads: test_cold_import.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from relay.http.app import (
    _CONTROL_ROUTERS,
    ControlPlane,
    control_plane_routers,
    control_router_for,
    create_control_plane_app,
)
from relay.services.container import Services
from relay.services.keys.auth import Authenticator
from relay.settings import Settings

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "admin-" + "k" * 40
_SAMPLES = {"model_id": "us.anthropic.claude-3-5-haiku-20241022-v1:0", "asset": "swagger-ui.css"}


def _sample(path: str) -> str:
    """The route's path with each parameter filled as a client would ("{x:path}" with slashes)."""
    return re.sub(r"{(\w+)(:path)?}", lambda m: _SAMPLES.get(m[1], f"{m[1]}-1"), path)


def _control_routes() -> list[tuple[str, APIRoute]]:
    return [
        (module, route)
        for (module, _), router in zip(_CONTROL_ROUTERS, control_plane_routers(), strict=True)
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


def test_every_control_route_is_claimed_by_its_own_router() -> None:
    routes = _control_routes()
    assert len(routes) > 60
    wrong = [
        (route.path, module, control_router_for(_sample(route.path)))
        for module, route in routes
        if control_router_for(_sample(route.path)) != module
    ]
    assert wrong == []


def test_paths_no_router_serves_are_claimed_by_none() -> None:
    for path in ("/", "/v1", "/v1/nowhere", "/v1/projects/p-1/nowhere", "/v1/chat/completions", "/docsx"):
        assert control_router_for(path) is None, path


def _services() -> Services:
    services = Services(Settings(table_name="t", bucket_name="b", admin_secret_id="s"))

    def no_key_lookup(key_id: str) -> None:
        raise AssertionError("only the admin key is used here")

    services.__dict__["authenticator"] = Authenticator(lambda: ADMIN_KEY, no_key_lookup, ttl=60)  # type: ignore[arg-type]
    return services


def _answers(app: object, method: str, path: str) -> tuple[int, object]:
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    response = client.request(method, path, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    body = (
        response.json() if response.headers.get("content-type", "").startswith("application/json") else None
    )
    if isinstance(body, dict):
        body.pop("request_id", None)
    return response.status_code, body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nowhere"),  # no router: 404 in the control envelope
        ("PUT", "/v1/keys"),  # a router's path, a method it lacks: 405
        ("POST", "/v1/projects"),  # no body: 400 or 422 from the router's own validation
        ("GET", "/health"),
        ("GET", "/docs"),
    ],
)
def test_answers_as_the_app_of_every_router(method: str, path: str) -> None:
    assert _answers(ControlPlane(_services()), method, path) == _answers(
        create_control_plane_app(_services()), method, path
    )


def test_a_request_builds_only_its_own_routers_app() -> None:
    plane = ControlPlane(_services())
    status, _ = _answers(plane, "GET", "/health")
    assert status == 200 and plane._apps == {}  # /health needs no FastAPI app
    _answers(plane, "PUT", "/v1/keys")
    _answers(plane, "PATCH", "/v1/keys/key-1")
    assert list(plane._apps) == ["keys"]
    assert plane.app_for("/v1/keys") is plane._apps["keys"]
