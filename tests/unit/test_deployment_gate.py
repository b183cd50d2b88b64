"""The resolver's deployment gate: which deployment statuses may be called, 503 + Retry-After while
not in service, 404 once gone, and one reactivation request per deployment per cooldown."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from relay.backends.worker import InMemoryWorker
from relay.errors import ModelNotFoundError, ServiceUnavailableError
from relay.services.reactivation import DeploymentGate
from relay.targets import SageMakerTarget
from tests.clock import Clock

pytestmark = pytest.mark.unit

DEPLOYMENT = SageMakerTarget(
    id="support-bot/dev",
    endpoint_name="relay-engine-abc",
    flavour="openai",
    type="chat",
    created_at=1,
    inference_component="relay-dp-123",
    metadata={"project_id": "ms-1"},
    deployment_id="dp-123",
    status="Deployed",
)


def _gate(worker: InMemoryWorker | None = None, clock: Clock | None = None, **kwargs: Any) -> DeploymentGate:
    return DeploymentGate(worker, retry_after=kwargs.pop("retry_after", 60), clock=clock or Clock(), **kwargs)


def _with(status: str, **changes: Any) -> SageMakerTarget:
    return dataclasses.replace(DEPLOYMENT, status=status, **changes)


def test_deployed_and_hand_registered_targets_pass() -> None:
    worker = InMemoryWorker()
    gate = _gate(worker)
    gate(DEPLOYMENT)
    gate(dataclasses.replace(DEPLOYMENT, deployment_id=None, status=None))  # an endpoint registered by hand
    assert worker.submitted == []


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("Pending", "still being deployed"),
        ("Deploying", "still being deployed"),
        ("Reactivating", "being reactivated"),
        ("Deactivated", "deactivated and is being reactivated"),
    ],
)
def test_not_yet_in_service_is_503_with_retry_after(status: str, says: str) -> None:
    with pytest.raises(ServiceUnavailableError) as raised:
        _gate(InMemoryWorker(), retry_after=7)(_with(status))
    error = raised.value
    assert (error.status, error.code) == (503, "service_unavailable")
    assert error.headers == {"Retry-After": "7"}
    assert "'support-bot'" in error.message and says in error.message


@pytest.mark.parametrize("status", ["Terminated", "Cancelled", "Failed", "TimedOut"])
def test_gone_is_model_not_found(status: str) -> None:
    worker = InMemoryWorker()
    with pytest.raises(ModelNotFoundError) as raised:
        _gate(worker)(_with(status))
    assert (raised.value.status, raised.value.code, raised.value.param) == (404, "model_not_found", "model")
    assert worker.submitted == []


def test_only_deactivated_asks_for_reactivation() -> None:
    worker = InMemoryWorker()
    gate = _gate(worker)
    for status in ("Pending", "Deploying", "Reactivating"):
        with pytest.raises(ServiceUnavailableError):
            gate(_with(status))
    assert worker.submitted == []
    with pytest.raises(ServiceUnavailableError):
        gate(_with("Deactivated"))
    assert worker.submitted == [{"action": "reactivate", "deployment_id": "dp-123", "project_id": "ms-1"}]


def test_many_requests_ask_once_per_cooldown() -> None:
    worker, clock = InMemoryWorker(), Clock()
    gate = _gate(worker, clock, cooldown=30)
    other = _with("Deactivated", deployment_id="dp-456", id="other/dev")
    for _ in range(5):
        for target in (_with("Deactivated"), other):
            with pytest.raises(ServiceUnavailableError):
                gate(target)
    assert [e["deployment_id"] for e in worker.submitted] == ["dp-123", "dp-456"]
    clock.now += 29.9
    with pytest.raises(ServiceUnavailableError):
        gate(_with("Deactivated"))
    assert len(worker.submitted) == 2
    clock.now += 0.2
    with pytest.raises(ServiceUnavailableError):
        gate(_with("Deactivated"))
    assert [e["deployment_id"] for e in worker.submitted] == ["dp-123", "dp-456", "dp-123"]


def test_a_refused_hand_off_is_retried_by_the_next_request() -> None:
    worker = InMemoryWorker()
    gate = _gate(worker, cooldown=300)
    worker.fail = True
    with pytest.raises(ServiceUnavailableError) as raised:
        gate(_with("Deactivated"))
    # The caller still learns the deployment is coming back, not that the deployer is busy.
    assert "being reactivated" in raised.value.message and raised.value.headers == {"Retry-After": "60"}
    worker.fail = False
    with pytest.raises(ServiceUnavailableError):
        gate(_with("Deactivated"))
    assert len(worker.submitted) == 1


def test_without_a_deployer_it_still_answers_503() -> None:
    with pytest.raises(ServiceUnavailableError):
        _gate(None)(_with("Deactivated"))
