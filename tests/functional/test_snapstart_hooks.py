"""SnapStart's two hooks on the data plane, as the Lambda Web Adapter calls them (an empty POST)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.asgi import http_scope

pytestmark = pytest.mark.functional

BEFORE = "/_relay/snapstart/before-checkpoint"
AFTER = "/_relay/snapstart/after-restore"


def post(app: Any, path: str, client: tuple[str, int]) -> int:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = http_scope("POST", path, [(b"host", b"127.0.0.1:8080"), (b"content-length", b"0")], client)
    asyncio.run(app(scope, receive, send))
    return int(next(m["status"] for m in sent if m["type"] == "http.response.start"))


@pytest.fixture()
def fresh(local_stack: object) -> Any:
    from relay.http.app import create_data_plane_app
    from relay.services.container import Services
    from relay.settings import Settings

    services = Services(Settings.from_env())
    return services, create_data_plane_app(services)


def test_the_adapter_primes_before_the_snapshot_and_renews_after_the_restore(fresh: Any) -> None:
    from relay.backends import aws
    from relay.http.routing import Endpoint

    services, app = fresh
    endpoints = [route for route in app.routes if isinstance(route, Endpoint)]
    assert any(route._handler is None for route in endpoints)  # named, imported on first use
    assert post(app, BEFORE, ("127.0.0.1", 40000)) == 204
    assert all(route._handler is not None for route in endpoints)
    assert {"chat", "authenticator", "usage"} <= set(services.built())
    assert "bedrock-runtime" in aws.built_clients()
    assert post(app, AFTER, ("127.0.0.1", 40001)) == 204
    assert services.built() == []  # rebuilt on first use, with new clients
    assert aws.built_clients() == []


@pytest.mark.parametrize("client", [("10.0.0.7", 40000), ("testclient", 50000)])
def test_the_hooks_answer_nobody_else(fresh: Any, client: tuple[str, int]) -> None:
    services, app = fresh
    assert post(app, BEFORE, client) == 404
    assert post(app, AFTER, client) == 404
    assert services.built() == []


def test_the_local_stack_serves_no_hooks(client: Any) -> None:
    assert client.post(BEFORE).status_code == 404
