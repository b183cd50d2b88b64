"""The deployment and engine DynamoDB adapters on moto: conditional transitions, the engine index."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

import boto3
import pytest

from relay.errors import ConflictError, NotFoundError
from relay.services.deployments.dynamodb import DynamoDBDeploymentRepository, DynamoDBEngineRepository
from relay.services.deployments.models import Deployment, Engine, Schedule

pytestmark = pytest.mark.functional


@pytest.fixture()
def repos(services: Any) -> tuple[DynamoDBDeploymentRepository, DynamoDBEngineRepository]:
    client = boto3.client("dynamodb")
    table = services.settings.table_name
    return DynamoDBDeploymentRepository(client, table), DynamoDBEngineRepository(client, table)


@pytest.fixture()
def project(client: Any, auth: dict[str, str]) -> str:
    response = client.post("/v1/projects", json={"name": "storage"}, headers=auth)
    assert response.status_code == 201
    return str(response.json()["id"])


def make(project_id: str, engine_id: str, **changes: Any) -> Deployment:
    deployment = Deployment(
        id="dp-" + secrets.token_hex(8),
        project_id=project_id,
        name="n-" + secrets.token_hex(4),
        engine_id=engine_id,
        status="Pending",
        base_model="tiny-local",
        task_type="classification",
        checkpoint=3,
        created_at=100,
        updated_at=100,
        inactive_timeout=900,
        training_id="tr-" + secrets.token_hex(8),
        schedule=Schedule("UTC", "09:00", "17:00", ("monday", "friday")),
        model_data_url="s3://b/projects/x/checkpoint-3/",
        labels=("neg", "pos"),
    )
    return replace(deployment, **changes)


def test_round_trip_and_conditional_transitions(repos: Any, project: str) -> None:
    deployments, _ = repos
    engine_id = "engine-" + secrets.token_hex(8)
    first = make(project, engine_id)
    deployments.create(first)
    assert deployments.get(project, first.id) == first
    with pytest.raises(ConflictError):
        deployments.create(replace(first, name="again"))
    moved = deployments.transition(project, first.id, "Deploying", 110)
    assert moved.status == "Deploying" and moved.updated_at == 110 and moved.labels == ("neg", "pos")
    with pytest.raises(ConflictError, match="Deploying; it cannot become Reactivating"):
        deployments.transition(project, first.id, "Reactivating", 120)
    done = deployments.transition(project, first.id, "Deployed", 130, deployed_at=130, failure_reason=None)
    assert done.deployed_at == 130 and done.failure_reason is None
    deployments.update(project, first.id, 140, reactivations=2)
    assert deployments.get(project, first.id).reactivations == 2
    with pytest.raises(NotFoundError):
        deployments.transition(project, "dp-0000000000000000", "Deploying", 1)
    second = make(project, engine_id, created_at=200)
    deployments.create(second)
    assert [d.id for d in deployments.list(project)] == [first.id, second.id]
    assert {d.id for d in deployments.on_engine(engine_id)} == {first.id, second.id}


def test_a_deployment_needs_an_active_project(repos: Any) -> None:
    deployments, _ = repos
    with pytest.raises(NotFoundError, match="No project"):
        deployments.create(make("ms-0000000000000000", "engine-x"))


def test_engines_list_update_and_delete(repos: Any) -> None:
    _, engines = repos
    engine = Engine(
        id="engine-" + secrets.token_hex(8),
        name="e",
        base_model="tiny-local",
        task_type="text-generation",
        instance_type="ml.m5.xlarge",
        created_at=5,
        updated_at=5,
        management_type="schedule",
        schedule=Schedule("Europe/Paris", "08:00", "20:00", ("monday",)),
    )
    engines.create(engine)
    with pytest.raises(ConflictError):
        engines.create(engine)
    assert engines.get(engine.id) == engine
    engines.update(engine.id, 9, last_access_timestamp=8)
    assert engines.get(engine.id).last_access_timestamp == 8
    assert engine.id in {e.id for e in engines.list()}
    assert engines.begin_delete(engine.id, 10).state == "deleting"
    with pytest.raises(NotFoundError):
        engines.begin_delete(engine.id, 11)
    engines.remove(engine.id)
    assert engines.get(engine.id) is None
    with pytest.raises(NotFoundError):
        engines.update(engine.id, 12, last_access_timestamp=1)
