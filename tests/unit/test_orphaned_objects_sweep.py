"""The staging sweep over the in-memory fakes: only a record waiting for its upload keeps it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from relay.backends.s3 import InMemoryObjectStore
from relay.services.datasets.models import Dataset
from relay.services.datasets.repository import InMemoryDatasetRepository
from relay.services.datasets.staging import StagedUploads
from relay.services.layout import parse_staging_key, staging_object_key
from relay.services.projects.models import Project
from relay.services.projects.repository import InMemoryProjectRepository

pytestmark = pytest.mark.unit

PROJECT, DATASET = "ms-0123456789abcdef", "ds-0123456789abcdef"
KEY = staging_object_key(PROJECT, DATASET, "d.jsonl")


World = tuple[StagedUploads, InMemoryDatasetRepository, InMemoryObjectStore]


@pytest.fixture()
def world() -> World:
    projects = InMemoryProjectRepository()
    projects.create(Project(id=PROJECT, name="p", created_at=1, updated_at=1))
    datasets, objects = InMemoryDatasetRepository(projects), InMemoryObjectStore()
    objects.objects[KEY] = b"late bytes"
    return StagedUploads(datasets, objects), datasets, objects


def pending(**changes: object) -> Dataset:
    base = Dataset(
        id=DATASET,
        project_id=PROJECT,
        name="d",
        filename="d.jsonl",
        object_key=KEY,
        created_at=1,
        updated_at=1,
        upload_by="k",
        sha256="0" * 64,
        size=10,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_an_upload_its_pending_record_waits_for_is_kept(world: World) -> None:
    staging, datasets, objects = world
    datasets.add(pending())
    assert staging.sweep(KEY) is False and KEY in objects.objects


def test_an_upload_with_no_record_is_removed(world: World) -> None:
    staging, _, objects = world
    assert staging.sweep(KEY) is True and objects.objects == {}


@pytest.mark.parametrize("state", ["uploaded", "invalid", "deleting"])
def test_an_upload_whose_record_no_longer_waits_is_removed(world: World, state: str) -> None:
    staging, datasets, objects = world
    datasets.add(pending(state=state))
    assert staging.sweep(KEY) is True and objects.objects == {}


def test_anything_else_under_staging_is_removed(world: World) -> None:
    staging, _, objects = world
    objects.objects["staging/not-a-project/x"] = b"?"
    assert parse_staging_key("staging/not-a-project/x") is None
    assert staging.sweep("staging/not-a-project/x") is True
    assert "staging/not-a-project/x" not in objects.objects


def test_record_moves_the_upload_into_place_and_drops_the_staged_copy(world: World) -> None:
    staging, datasets, objects = world
    datasets.add(pending())
    done = staging.record(pending(format="prompt_completion", num_rows=1), 5)
    assert done.is_uploaded and done.object_key == f"projects/{PROJECT}/datasets/{DATASET}/d.jsonl"
    assert objects.objects == {done.object_key: b"late bytes"}


def test_record_for_a_dataset_deleted_meanwhile_leaves_no_copy(world: World) -> None:
    staging, _, objects = world
    from relay.errors import ConflictError

    with pytest.raises(ConflictError):
        staging.record(pending(), 5)  # no record: it was deleted while being verified
    assert list(objects.objects) == [KEY]  # the staged copy is the sweep's (or the lifecycle rule's)
