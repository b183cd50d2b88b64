"""The control plane's pure transition tables, and the in-memory fakes that enforce them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from relay.errors import ConflictError, NotFoundError
from relay.services.datasets import status as ds
from relay.services.datasets.models import Dataset, DatasetRejection
from relay.services.datasets.repository import InMemoryDatasetRepository
from relay.services.projects.models import Project, project_sources_of
from relay.services.projects.repository import InMemoryProjectRepository
from relay.services.training import status as st
from relay.services.training.models import TrainingJob
from relay.services.training.repository import InMemoryTrainingJobRepository

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("pending", "verifying", True),
        ("pending", "uploaded", True),
        ("pending", "invalid", False),  # only the worker's verification refuses a dataset
        ("verifying", "uploaded", True),
        ("verifying", "invalid", True),
        ("verifying", "pending", True),  # the hand-off to the worker failed
        ("uploaded", "pending", False),
        ("uploaded", "invalid", False),
        ("invalid", "uploaded", False),
        ("uploaded", "deleting", True),
        ("deleting", "uploaded", True),  # a delete that found the dataset in use
        ("deleting", "deleting", True),  # a delete cut short, run again
        ("unknown", "uploaded", False),
    ],
)
def test_dataset_transition_table(current: str, target: str, allowed: bool) -> None:
    assert ds.can_transition(current, target) is allowed


def test_every_state_can_be_deleted_and_sources_follow_the_table() -> None:
    assert set(ds.sources_of("deleting")) == set(ds.STATES)
    assert ds.sources_of("invalid") == ("verifying", "deleting")  # deleting: put back by a refused delete
    assert set(ds.sources_of("uploaded")) == {"pending", "verifying", "deleting"}
    assert ds.COMPLETABLE == ("pending", "verifying")  # an upload never completes a deleting dataset
    assert project_sources_of("deleting") == ("active", "deleting")
    assert project_sources_of("active") == ("deleting",)


def test_stored_values_are_checked_against_the_literals() -> None:
    with pytest.raises(ValueError, match="unknown dataset state"):
        ds.as_state("uploading")
    with pytest.raises(ValueError, match="unknown training status"):
        st.as_status("Done")
    with pytest.raises(ValueError, match="unknown training status"):
        TrainingJob.from_values({"id": "tr-1", "project_id": "p", "name": "n", "created_at": 1,
                                 "updated_at": 1, "status": "Done"})  # fmt: skip


def _dataset(project_id: str, state: ds.DatasetState = "pending") -> Dataset:
    return Dataset(
        id="ds-0123456789abcdef", project_id=project_id, name="d", filename="d.jsonl", object_key="k",
        created_at=1, updated_at=1, upload_by="k", state=state, sha256="0" * 64, size=3,
    )  # fmt: skip


def test_the_dataset_fake_refuses_moves_the_table_does_not_allow() -> None:
    table = InMemoryProjectRepository()
    table.create(Project(id="ms-0123456789abcdef", name="p", created_at=1, updated_at=1))
    datasets = InMemoryDatasetRepository(table)
    pending = _dataset("ms-0123456789abcdef")
    datasets.add(pending)
    with pytest.raises(ConflictError):
        datasets.mark_invalid(pending, DatasetRejection("invalid_dataset", "bad"), 2, 3)
    uploaded = datasets.mark_uploaded(pending, 2)
    with pytest.raises(ConflictError):
        datasets.begin_verify(pending.project_id, pending.id, 3)
    before = datasets.begin_delete(pending.project_id, pending.id, 4)
    assert before == uploaded and datasets.get(pending.project_id, pending.id).state == "deleting"  # type: ignore[union-attr]
    deleting = datasets.begin_delete(pending.project_id, pending.id, 5)  # again, after a delete cut short
    with pytest.raises(ConflictError):  # a completion racing the delete does not bring it back
        datasets.mark_uploaded(deleting, 5)
    datasets.restore(before)
    assert datasets.get(pending.project_id, pending.id) == uploaded
    table.begin_delete("ms-0123456789abcdef", 6)
    with pytest.raises(NotFoundError):  # no dataset joins a project being deleted
        datasets.add(replace(pending, id="ds-fedcba9876543210"))


def test_the_training_fake_enforces_the_transition_table() -> None:
    table = InMemoryProjectRepository()
    table.create(Project(id="ms-0123456789abcdef", name="p", created_at=1, updated_at=1))
    jobs = InMemoryTrainingJobRepository(table)
    jobs.create(
        TrainingJob(id="tr-1", project_id="ms-0123456789abcdef", name="j", created_at=1, updated_at=1)
    )
    with pytest.raises(ValueError, match="nothing transitions to Pending"):  # a job starts Pending, once
        jobs.transition("ms-0123456789abcdef", "tr-1", "Pending", 2)
    for target in ("Testing", "Success"):
        with pytest.raises(ConflictError, match=f"is Pending; it cannot become {target}"):
            jobs.transition("ms-0123456789abcdef", "tr-1", target, 2)
    with pytest.raises(ValueError, match="no field"):
        jobs.transition("ms-0123456789abcdef", "tr-1", "Running", 2, colour="blue")
    assert jobs.transition(
        "ms-0123456789abcdef", "tr-1", "TimedOut", 2, reason="spot wait"
    ).failure_reason == ("spot wait")
