"""Auth before work: a request without a valid key is refused before its body is read."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from relay.http.app import create_local_app
from relay.services.container import Services
from relay.services.keys.auth import Authenticator
from relay.services.keys.repository import InMemoryApiKeyRepository
from relay.services.keys.service import generate_key
from relay.settings import Settings

pytestmark = pytest.mark.unit

ADMIN_KEY = "A" * 48
BIG = 6 * 1024 * 1024


@pytest.fixture(scope="module")
def world() -> tuple[Any, str]:
    settings = Settings(table_name="t", bucket_name="b", admin_secret_id="s", max_body_bytes=8 * 1024 * 1024)
    services = Services(settings)
    keys = InMemoryApiKeyRepository()
    plaintext, record = generate_key("member")
    keys.put(record)
    services.__dict__["authenticator"] = Authenticator(lambda: ADMIN_KEY, keys, ttl=60)
    return create_local_app(services), plaintext


def call(
    app: Any, method: str, path: str, headers: dict[str, str], size: int
) -> tuple[int, dict[str, Any], int]:
    """Run one request through the ASGI app; returns (status, JSON body, body messages the app read)."""
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"{" + b" " * (size - 2) + b"}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    raw = [(k.lower().encode(), v.encode()) for k, v in {**headers, "content-length": str(size)}.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [*raw, (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "scheme": "http",
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body or b"{}"), reads


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/embeddings"),
        ("POST", "/v1/messages"),
        ("POST", "/v1/projects"),
        ("POST", "/v1/projects/ms-0123456789abcdef/training-jobs"),
        ("POST", "/v1/engines"),
        ("POST", "/v1/keys"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer sk-relay-abcdefghijkl-random"},
        {"X-API-Key": "sk-relay-zzzzzzzzzzzz-x"},
    ],
)
def test_no_valid_key_is_refused_without_reading_the_body(
    world: tuple[Any, str], method: str, path: str, headers: dict[str, str]
) -> None:
    app, _ = world
    status, body, reads = call(app, method, path, headers, BIG)
    assert status == 401, body
    assert reads == 0


def test_a_member_key_on_an_admin_route_is_refused_without_reading_the_body(world: tuple[Any, str]) -> None:
    app, member = world
    status, _, reads = call(app, "POST", "/v1/keys", {"Authorization": f"Bearer {member}"}, BIG)
    assert status == 403 and reads == 0


def test_a_valid_key_gets_its_body_read(world: tuple[Any, str]) -> None:
    app, member = world
    # The empty object is read and parsed: a 400 naming the missing field, not a 401.
    status, body, reads = call(app, "POST", "/v1/chat/completions", {"Authorization": f"Bearer {member}"}, 2)
    assert status == 400 and reads >= 1, body


def test_open_routes_stay_open(world: tuple[Any, str]) -> None:
    app, _ = world
    assert call(app, "GET", "/health", {}, 0)[0] == 200
    assert call(app, "GET", "/openapi.json", {}, 0)[0] == 200
