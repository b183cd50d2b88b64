"""Inference routes on deployment records (what the control plane writes to the registry): callable
while Deployed, 503 + Retry-After in OpenAI's envelope while not in service, one reactivation
hand-off per deployment however many requests arrive, 404 model_not_found once gone."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from relay.backends.worker import InMemoryWorker
from relay.targets import SageMakerTarget

pytestmark = pytest.mark.functional

# The emulated OpenAI-compatible endpoint answers like a deployed component would.
DEPLOYMENT = SageMakerTarget(
    id="gate-bot/dev",
    endpoint_name="relay-emu-openai",
    flavour="openai",
    type="chat",
    created_at=1,
    metadata={"project_id": "ms-gate", "base_model": "tiny-local"},
    deployment_id="dp-gate",
    status="Deployed",
)
CHAT = {"model": "gate-bot", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 8}


@pytest.fixture(scope="module")
def deployer() -> InMemoryWorker:
    return InMemoryWorker()


@pytest.fixture(scope="module")
def gated(local_stack: Any, deployer: InMemoryWorker) -> Iterator[tuple[Any, Any]]:
    """An app of its own whose deployer is an in-memory fake (the real one is the Lambda emulator)."""
    from fastapi.testclient import TestClient

    from relay.http.app import create_local_app
    from relay.services.container import Services
    from relay.settings import Settings

    services = Services(Settings.from_env())
    services.__dict__["deployer"] = deployer  # before the gate is built from it
    with TestClient(create_local_app(services), raise_server_exceptions=False) as client:
        yield client, services.model_registry
    services.model_registry.delete(DEPLOYMENT.id)


def _record(registry: Any, status: str) -> None:
    registry.put(dataclasses.replace(DEPLOYMENT, status=status), overwrite=True)


def test_a_deployed_deployment_answers(gated: tuple[Any, Any], auth: dict[str, str]) -> None:
    client, registry = gated
    _record(registry, "Deployed")
    response = client.post("/v1/chat/completions", json=CHAT, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("status", ["Pending", "Deploying", "Reactivating", "Deactivated"])
@pytest.mark.parametrize("stream", [False, True])
def test_not_in_service_is_503_with_retry_after(
    gated: tuple[Any, Any], auth: dict[str, str], status: str, stream: bool
) -> None:
    client, registry = gated
    _record(registry, status)
    response = client.post("/v1/chat/completions", json={**CHAT, "stream": stream}, headers=auth)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"  # twice the local stack's 1 s poll
    error = response.json()["error"]
    assert error["code"] == "service_unavailable" and error["type"] == "api_error"
    assert "'gate-bot'" in error["message"]


def test_deactivated_asks_the_deployer_once(
    gated: tuple[Any, Any], auth: dict[str, str], deployer: InMemoryWorker
) -> None:
    client, registry = gated
    _record(registry, "Deactivated")
    for route, body in [
        ("/v1/chat/completions", CHAT),
        ("/v1/chat/completions", {**CHAT, "stream": True}),
        ("/v1/completions", {"model": "gate-bot", "prompt": "hello", "max_tokens": 4}),
    ] * 3:
        response = client.post(route, json=body, headers=auth)
        assert response.status_code == 503 and "being reactivated" in response.json()["error"]["message"]
    # One hand-off per deployment per cooldown (60 s) for every Deactivated request of this module.
    assert deployer.submitted == [
        {"action": "reactivate", "deployment_id": "dp-gate", "project_id": "ms-gate"}
    ]


@pytest.mark.parametrize("status", ["Terminated", "Cancelled", "Failed", "TimedOut"])
def test_gone_is_model_not_found(gated: tuple[Any, Any], auth: dict[str, str], status: str) -> None:
    client, registry = gated
    _record(registry, status)
    for route, body in [
        ("/v1/chat/completions", CHAT),
        ("/v1/completions", {"model": "gate-bot", "prompt": "hello"}),
    ]:
        response = client.post(route, json=body, headers=auth)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "model_not_found"
