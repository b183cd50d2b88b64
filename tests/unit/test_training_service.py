"""TrainingService over the in-memory fakes: no moto, no Step Functions, no SageMaker.

The pipeline and SageMaker are replaced by small recording fakes of their ports; the job
records live in the in-memory repository, which enforces the same transition table as DynamoDB.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from relay.backends.s3 import InMemoryObjectStore
from relay.backends.stepfunctions import execution_arn
from relay.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
)
from relay.protocol.training import CreateGRPOTrainingJobRequest, CreateTrainingJobRequest
from relay.services.datasets.repository import InMemoryDatasetRepository
from relay.services.datasets.service import DatasetService
from relay.services.datasets.uploads import DatasetUploads
from relay.services.datasets.verification import DatasetVerifier
from relay.services.keys.models import Principal
from relay.services.projects.repository import InMemoryProjectRepository
from relay.services.projects.service import ProjectService
from relay.services.training.models import Checkpoint
from relay.services.training.repository import InMemoryTrainingJobRepository
from relay.services.training.service import TrainingService, idempotent_job_id
from relay.settings import Settings

pytestmark = pytest.mark.unit

K1 = Principal(key_id="k1", is_admin=False)
NOW = 1_700_000_000
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:relay-training"
SUMS = b"".join(json.dumps({"prompt": f"{i}+1", "completion": str(i + 1)}).encode() + b"\n" for i in range(6))


class Pipelines:
    """Step Functions as the training service sees it: executions by name."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, str]] = {}
        self.stopped: list[str] = []
        self.fail: Exception | None = None

    def start_execution(self, state_machine_arn: str, name: str, payload: dict[str, str]) -> bool:
        if self.fail:
            raise self.fail
        if name in self.started:
            return False
        self.started[name] = payload
        return True

    def stop_execution(self, arn: str, *, error: str, cause: str) -> bool:
        self.stopped.append(arn)
        return True


class TrainingJobs:
    def __init__(self) -> None:
        self.stopped: list[str] = []

    def stop_training_job(self, name: str) -> bool:
        self.stopped.append(name)
        return True


class Stack:
    """Projects, datasets and training on the in-memory fakes, Step Functions and SageMaker recorded."""

    def __init__(self) -> None:
        self.table = InMemoryProjectRepository()
        self.objects = InMemoryObjectStore()
        settings = Settings(table_name="t", bucket_name="b", admin_secret_id="s")
        self.projects = ProjectService(self.table, self.objects, clock=lambda: NOW)
        datasets = InMemoryDatasetRepository(self.table)
        self.jobs = InMemoryTrainingJobRepository(self.table)
        self.datasets = DatasetService(
            self.projects, datasets, self.jobs, self.objects, settings, clock=lambda: NOW
        )
        verifier = DatasetVerifier(datasets, self.objects, settings, clock=lambda: NOW)
        self.uploads = DatasetUploads(
            self.projects, self.datasets, datasets, verifier, self.objects, settings
        )
        self.pipelines = Pipelines()
        self.sagemaker = TrainingJobs()
        self.training = TrainingService(
            self.jobs,
            datasets,
            self.table,
            self.objects,
            self.pipelines,
            self.sagemaker,
            MACHINE,
            clock=lambda: NOW,
        )


class World(Stack):
    """The stack with one project holding an uploaded dataset."""

    def __init__(self) -> None:
        super().__init__()
        self.project = self.projects.create("p", K1).id
        self.dataset = self.uploads.upload(self.project, K1, filename="s.jsonl", content=SUMS, name="sums").id

    def request(self, **changes: Any) -> CreateTrainingJobRequest:
        return CreateTrainingJobRequest.model_validate(
            {"base_model": "tiny-local", "train_dataset_id": self.dataset, **changes}
        )


@pytest.fixture()
def world() -> World:
    return World()


def test_create_records_a_pending_job_and_starts_its_execution_by_job_id(world: World) -> None:
    job = world.training.create(world.project, world.request(name="first"), K1)
    assert job.status == "Pending" and job.name == "first" and job.created_by == "k1"
    assert job.train_dataset_name == "sums" and job.base_model == "tiny-local"
    assert job.execution_arn == execution_arn(MACHINE, job.id)
    assert world.pipelines.started == {job.id: {"project_id": world.project, "job_id": job.id}}
    assert [entry.status for entry in job.status_history] == ["Pending"]
    assert world.jobs.get(world.project, job.id) == job
    assert world.training.list(world.project, K1) == [job]


def test_an_idempotency_key_returns_the_first_job_and_starts_nothing_again(world: World) -> None:
    first = world.training.create(world.project, world.request(), K1, idempotency_key="once")
    again = world.training.create(world.project, world.request(), K1, idempotency_key="once")
    assert again.id == first.id == idempotent_job_id(world.project, "once")
    assert list(world.pipelines.started) == [first.id]


def test_a_pipeline_that_cannot_start_leaves_the_job_failed_with_a_reason(world: World) -> None:
    world.pipelines.fail = RateLimitError("StartExecution was throttled")
    with pytest.raises(ServiceUnavailableError, match="could not be started"):
        world.training.create(world.project, world.request(), K1)
    (job,) = world.jobs.list(world.project)
    assert job.status == "Failed" and job.failure_reason == "The pipeline could not start"
    assert [entry.status for entry in job.status_history] == ["Pending", "Failed"]


def test_bad_requests_name_their_field_and_store_nothing(world: World) -> None:
    with pytest.raises(BadRequestError, match="train_dataset_id: no dataset"):
        world.training.create(world.project, world.request(train_dataset_id="ds-0000000000000000"), K1)
    grpo = CreateGRPOTrainingJobRequest.model_validate(
        {"base_model": "tiny-local", "train_dataset_id": world.dataset, "test_functions": ["exact_match"],
         "reward": {"exact_match": 1}}
    )  # fmt: skip
    assert world.training.create(world.project, grpo, K1).reward == {"exact_match": 1.0}
    assert len(world.jobs.list(world.project)) == 1
    with pytest.raises(NotFoundError):
        world.training.create("ms-0000000000000000", world.request(), K1)


def test_cancel_stops_the_execution_and_the_training_job_once(world: World) -> None:
    job = world.training.create(world.project, world.request(), K1)
    world.jobs.transition(world.project, job.id, "Running", NOW + 1)
    world.training.cancel(world.project, job.id, K1)
    cancelled = world.jobs.get(world.project, job.id)
    assert cancelled is not None and cancelled.status == "Cancelled" and cancelled.failure_reason is None
    assert world.pipelines.stopped == [job.execution_arn] and world.sagemaker.stopped == [job.id]
    world.training.cancel(world.project, job.id, K1)  # again: nothing more happens
    assert world.pipelines.stopped == [job.execution_arn] and world.sagemaker.stopped == [job.id]


def test_a_finished_job_cannot_be_cancelled_and_a_running_one_cannot_be_deleted(world: World) -> None:
    job = world.training.create(world.project, world.request(), K1)
    with pytest.raises(ConflictError, match="cancel it before deleting"):
        world.training.delete(world.project, job.id, K1)
    for status in ("Running", "Testing", "Success"):
        world.jobs.transition(world.project, job.id, status, NOW + 1)  # type: ignore[arg-type]
    with pytest.raises(ConflictError, match="already finished"):
        world.training.cancel(world.project, job.id, K1)
    world.jobs.put_checkpoint(
        world.project, job.id, Checkpoint(checkpoint=2, model_download_url="s3://b/2/", created_at=1)
    )
    world.jobs.put_checkpoint(
        world.project, job.id, Checkpoint(checkpoint=1, model_download_url="s3://b/1/", created_at=1)
    )
    assert [c.checkpoint for c in world.training.checkpoints(world.project, job.id, K1)] == [1, 2]
    world.objects.objects[f"projects/{world.project}/training/{job.id}/data/train/train.jsonl"] = b"{}"
    world.training.delete(world.project, job.id, K1)
    assert (
        world.jobs.get(world.project, job.id) is None and world.jobs.checkpoints(world.project, job.id) == []
    )
    assert not any(f"/training/{job.id}/" in key for key in world.objects.objects)
    with pytest.raises(NotFoundError):
        world.training.get(world.project, job.id, K1)


def test_the_detail_names_its_datasets_and_a_deleted_one_is_none(world: World) -> None:
    test_set = world.uploads.upload(world.project, K1, filename="t.jsonl", content=SUMS, name="held out").id
    job = world.training.create(world.project, world.request(test_dataset_id=test_set), K1)
    view = world.training.get(world.project, job.id, K1)
    assert view.train_dataset is not None and view.train_dataset.name == "sums"
    assert view.test_dataset is not None and view.test_dataset.name == "held out"
    with pytest.raises(ConflictError, match="used by training job"):  # the job has not finished
        world.datasets.delete(world.project, test_set, K1)
    world.training.cancel(world.project, job.id, K1)
    world.datasets.delete(world.project, test_set, K1)
    assert world.training.get(world.project, job.id, K1).test_dataset is None
