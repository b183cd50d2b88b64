"""The deployments feature's adapters over training checkpoints and the model registry, and the
catalogue's serving data they rely on."""

from __future__ import annotations

import hashlib
import json

import pytest

from relay.backends.s3 import InMemoryObjectStore
from relay.catalogue import catalogue
from relay.errors import BadRequestError, ConflictError
from relay.services.deployments.adapters import RegistryAdapter, TrainingCheckpoints
from relay.services.deployments.models import RegistryEntry, TrainedCheckpoint
from relay.services.projects.models import Project
from relay.services.projects.repository import InMemoryProjectRepository
from relay.services.registry.repository import InMemoryModelRegistry
from relay.services.training.models import Checkpoint, TrainingJob
from relay.services.training.repository import InMemoryTrainingJobRepository
from relay.targets import SageMakerTarget

pytestmark = pytest.mark.unit


def put(store: InMemoryObjectStore, key: str, document: object) -> None:
    body = json.dumps(document).encode()
    store.put(key, body, sha256_hex=hashlib.sha256(body).hexdigest())


def test_checkpoints_come_with_the_trainers_facts() -> None:
    projects = InMemoryProjectRepository()
    projects.create(Project(id="ms-1", name="p", created_at=1, updated_at=1))
    jobs = InMemoryTrainingJobRepository(projects)
    jobs.create(
        TrainingJob(
            id="tr-1",
            project_id="ms-1",
            name="j",
            created_at=1,
            updated_at=1,
            base_model="tiny-local",
            task_type="classification",
        )
    )
    for number in (2, 4):
        url = f"s3://bucket/projects/ms-1/training/tr-1/checkpoints/checkpoint-{number}/"
        jobs.put_checkpoint(
            "ms-1", "tr-1", Checkpoint(checkpoint=number, model_download_url=url, created_at=1)
        )
    # a checkpoint registered somewhere else cannot be deployed from this bucket
    jobs.put_checkpoint(
        "ms-1", "tr-1", Checkpoint(checkpoint=9, model_download_url="s3://other/x/", created_at=1)
    )
    store = InMemoryObjectStore()
    folder = "projects/ms-1/training/tr-1/checkpoints/checkpoint-4/"
    put(store, folder + "relay_checkpoint.json", {"checkpoint": 4, "adapter": True})
    put(store, folder + "labels.json", {"labels": ["neg", "pos"], "id2label": {"0": "neg", "1": "pos"}})
    source = TrainingCheckpoints(jobs, store, "bucket")
    job = source.training_job("ms-1", "tr-1")
    assert job is not None and job.status == "Pending" and job.task_type == "classification"
    assert [c.number for c in job.checkpoints] == [2, 4]
    facts = source.facts(job.checkpoints[1])
    assert facts.adapter is True and facts.labels == ("neg", "pos")
    with pytest.raises(BadRequestError, match=r"relay_checkpoint\.json"):
        source.facts(job.checkpoints[0])
    assert source.training_job("ms-1", "tr-2") is None


def entry(name: str, status: str = "Pending") -> RegistryEntry:
    return RegistryEntry(
        name=name,
        endpoint_name="p-engine-1",
        inference_component="p-dp-1",
        flavour="classifier",
        type="classification",
        deployment_id="dp-1",
        status=status,
        created_at=5,
        labels=("a", "b"),
        metadata={"project_id": "ms-1"},
    )


def test_registry_entries_follow_the_deployment_and_leave_others_alone() -> None:
    admin = SageMakerTarget(
        id="hand-made/dev", endpoint_name="e", flavour="openai", type="chat", created_at=1
    )
    registry = InMemoryModelRegistry([admin])
    writer = RegistryAdapter(registry)
    writer.claim(entry("clf"))
    stored = registry.get("clf")
    assert stored is not None and stored.id == "clf/dev" and stored.deployment_id == "dp-1"
    assert (
        stored.status == "Pending" and stored.inference_component == "p-dp-1" and stored.labels == ("a", "b")
    )
    assert stored.metadata == {"project_id": "ms-1"}
    with pytest.raises(ConflictError):
        writer.claim(entry("clf"))
    with pytest.raises(ConflictError):
        writer.claim(entry("hand-made"))
    writer.set_status("clf", "Deployed")
    assert registry.get("clf").status == "Deployed"  # type: ignore[union-attr]
    writer.set_status("hand-made", "Deactivated")
    writer.release("hand-made")
    assert registry.get("hand-made") == admin
    writer.release("clf")
    writer.release("clf")
    assert registry.get("clf") is None
    writer.set_status("clf", "Deployed")  # a late status write never brings an entry back
    assert registry.get("clf") is None


def test_every_catalogue_model_can_be_served() -> None:
    for spec in catalogue().values():
        serving = spec.serving
        assert serving.hourly_usd > 0 and serving.instance_type.startswith("ml."), spec.name
        assert set(serving.images) == set(spec.task_types), spec.name
        for task in spec.task_types:
            image = serving.image_for(task, "eu-west-1")
            assert image.startswith("763104351884.dkr.ecr.eu-west-1.amazonaws.com/"), image
            assert ":" in image.rsplit("/", 1)[1] and not image.endswith(":latest"), image  # pinned
    assert catalogue()["tiny-local"].serving.instance_type == "ml.m5.xlarge"
    assert "djl-inference" in catalogue()["Llama-3.2-1B-Instruct"].serving.image_for("text-generation", "x")
    assert "/tei:" in catalogue()["bge-base-en-v1.5"].serving.image_for("embedding", "x")


def test_a_checkpoint_facts_reader_needs_the_bucket_prefix() -> None:
    store = InMemoryObjectStore()
    put(store, "k/relay_checkpoint.json", {"adapter": False})
    source = TrainingCheckpoints(InMemoryTrainingJobRepository(InMemoryProjectRepository()), store, "b")
    assert source.facts(TrainedCheckpoint(1, "s3://b/k")).labels == ()
