"""One contract for the training-job port: the in-memory fake and the DynamoDB adapter (on moto) agree.

Every status write is conditional on the transition table, so each refusal below is the same
domain error from both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from relay.errors import BadRequestError, ConflictError, NotFoundError
from relay.services.datasets.dynamodb import DynamoDBDatasetRepository
from relay.services.datasets.models import Dataset
from relay.services.datasets.repository import DatasetRepository, InMemoryDatasetRepository
from relay.services.layout import DATASET_PREFIX, PROJECT_PREFIX, new_id
from relay.services.projects.dynamodb import DynamoDBProjectRepository
from relay.services.projects.models import Project
from relay.services.projects.repository import InMemoryProjectRepository, ProjectRepository
from relay.services.training.dynamodb import DynamoDBTrainingJobRepository
from relay.services.training.models import Checkpoint, CheckpointTestResults, LossPoint, TrainingJob
from relay.services.training.repository import InMemoryTrainingJobRepository, TrainingJobRepository

pytestmark = pytest.mark.functional


@dataclass
class Stores:
    projects: ProjectRepository
    datasets: DatasetRepository
    jobs: TrainingJobRepository
    project: str
    dataset: str


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    projects: Any
    datasets: Any
    jobs: Any
    if request.param == "memory":
        table = InMemoryProjectRepository()
        projects, datasets, jobs = (
            table,
            InMemoryDatasetRepository(table),
            InMemoryTrainingJobRepository(table),
        )
    else:
        services = request.getfixturevalue("services")
        client, name = boto3.client("dynamodb"), services.settings.table_name
        projects = DynamoDBProjectRepository(client, name)
        datasets = DynamoDBDatasetRepository(client, name)
        jobs = DynamoDBTrainingJobRepository(client, name)
    project = new_id(PROJECT_PREFIX)
    projects.create(Project(id=project, name="p", created_at=1, updated_at=1))
    dataset = new_id(DATASET_PREFIX)
    datasets.add(
        Dataset(
            id=dataset, project_id=project, name="d", filename="d.jsonl", object_key="k", created_at=1,
            updated_at=1, upload_by="k", state="uploaded", sha256="0" * 64, size=3, format="chat",
            num_rows=1, uploaded_at=1,
        )
    )  # fmt: skip
    yield Stores(projects, datasets, jobs, project, dataset)
    projects.purge(project)


def _job(stores: Stores, **changes: Any) -> TrainingJob:
    values: dict[str, Any] = {
        "id": new_id("tr-"),
        "project_id": stores.project,
        "name": "j",
        "created_at": 1,
        "updated_at": 1,
        "train_dataset_id": stores.dataset,
        "reward": {"exact_match": 1.0},
        "hyper_parameters": {"learning_rate": 0.0002, "rebalance_data": {"a": 0.5}},
        **changes,
    }
    return TrainingJob(**values)


def test_a_job_reads_back_as_written(stores: Stores) -> None:
    job = _job(stores)
    stores.jobs.create(job)
    assert stores.jobs.get(stores.project, job.id) == job
    assert stores.jobs.list(stores.project) == [job]
    with pytest.raises(ConflictError):
        stores.jobs.create(job)


def test_create_needs_an_active_project_and_uploaded_datasets(stores: Stores) -> None:
    with pytest.raises(BadRequestError, match="no longer uploaded"):
        stores.jobs.create(_job(stores, test_dataset_id="ds-0000000000000000"))
    with pytest.raises(NotFoundError):
        stores.jobs.create(_job(stores, project_id="ms-0000000000000000", train_dataset_id=None))
    assert stores.jobs.list(stores.project) == []


def test_transitions_follow_the_table_and_keep_their_history(stores: Stores) -> None:
    job = _job(stores)
    stores.jobs.create(job)
    with pytest.raises(ConflictError, match="is Pending; it cannot become Testing"):
        stores.jobs.transition(stores.project, job.id, "Testing", 2)
    running = stores.jobs.transition(stores.project, job.id, "Running", 2)
    assert running.status == "Running" and running.updated_at == 2
    assert stores.jobs.record_progress(stores.project, job.id, 3, 40, [LossPoint(10.0, 2.5)])
    testing = stores.jobs.transition(stores.project, job.id, "Testing", 4, progress=100)
    assert testing.progress == 100 and testing.training_loss == [LossPoint(10.0, 2.5)]
    assert not stores.jobs.record_progress(stores.project, job.id, 5, 50, [])  # no longer progressing
    failed = stores.jobs.transition(stores.project, job.id, "Failed", 6, reason="out of memory")
    assert failed.failure_reason == "out of memory"
    assert [(e.status, e.at, e.reason) for e in failed.status_history] == [
        ("Running", 2, None),
        ("Testing", 4, None),
        ("Failed", 6, "out of memory"),
    ]
    with pytest.raises(ConflictError, match="is Failed"):
        stores.jobs.transition(stores.project, job.id, "Cancelled", 7)
    with pytest.raises(NotFoundError):
        stores.jobs.transition(stores.project, "tr-0000000000000000", "Running", 7)


def test_only_a_finished_job_is_deleted_with_its_checkpoints(stores: Stores) -> None:
    job = _job(stores)
    stores.jobs.create(job)
    checkpoint = Checkpoint(
        checkpoint=3,
        model_download_url="s3://b/3/",
        created_at=5,
        updated_at=6,
        test_results=CheckpointTestResults("s3://b/r.jsonl", {"exact_match": "0.5000"}),
    )
    stores.jobs.put_checkpoint(stores.project, job.id, checkpoint)
    assert stores.jobs.checkpoints(stores.project, job.id) == [checkpoint]
    with pytest.raises(ConflictError, match="cancel it before deleting"):
        stores.jobs.delete(stores.project, job.id)
    stores.jobs.transition(stores.project, job.id, "Cancelled", 2)
    stores.jobs.delete(stores.project, job.id)
    assert stores.jobs.get(stores.project, job.id) is None
    assert stores.jobs.checkpoints(stores.project, job.id) == []
    with pytest.raises(NotFoundError):
        stores.jobs.delete(stores.project, job.id)
