"""Shared fixtures: the local stack (moto + emulators), the app in-process, and a live server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(scope="session")
def local_stack() -> Iterator[object]:
    """moto's server and the emulators, with the endpoint variables pointing at them."""
    from local.stack import LocalStack

    stack = LocalStack(admin_key="test-admin-key-" + "x" * 33).start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def admin_key(local_stack: object) -> str:
    return local_stack.admin_key  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def services(local_stack: object) -> object:
    from relay.backends import aws
    from relay.services.container import Services
    from relay.settings import Settings

    aws.reset_clients()
    return Services(Settings.from_env())


@pytest.fixture(scope="session")
def app(services: object) -> object:
    from relay.http.app import create_local_app

    return create_local_app(services)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def client(app: object) -> Iterator[object]:
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as test_client:  # type: ignore[arg-type]
        yield test_client


@pytest.fixture()
def auth(admin_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_key}"}


@pytest.fixture()
def bedrock_calls() -> Iterator[list[str]]:
    """The modelId of every bedrock-runtime call made meanwhile (in-process and live server)."""
    from relay.backends import aws

    seen: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(str(params.get("modelId")))

    events = aws.client("bedrock-runtime").meta.events
    events.register("provide-client-params.bedrock-runtime", record)
    try:
        yield seen
    finally:
        events.unregister("provide-client-params.bedrock-runtime", record)


@pytest.fixture(scope="session")
def live_server(app: object) -> Iterator[str]:
    """uvicorn serving the app on a free loopback port; yields the base URL ending in /v1."""
    from tests.servers import serving

    with serving(app, access_log=False) as port:
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture()
def openai_client(live_server: str, admin_key: str) -> object:
    import openai

    return openai.OpenAI(base_url=live_server, api_key=admin_key, max_retries=0, timeout=30)
