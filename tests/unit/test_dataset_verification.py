"""Large presigned uploads: `complete` hands them to the worker, which records uploaded or invalid.

pending -> verifying -> uploaded | invalid, over the in-memory fakes, with the worker step run
directly where Lambda would run it after the asynchronous invoke.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from relay.backends.s3 import InMemoryObjectStore
from relay.backends.worker import InMemoryWorker
from relay.errors import BadRequestError, ConflictError, ServiceUnavailableError
from relay.http.routes.datasets import dataset_detail
from relay.pipeline.steps import run, steps
from relay.services.datasets.models import Dataset, DatasetRejection
from relay.services.datasets.repository import InMemoryDatasetRepository
from relay.services.datasets.service import DatasetService
from relay.services.datasets.uploads import DatasetUploads
from relay.services.datasets.verification import DatasetVerifier
from relay.services.keys.models import Principal
from relay.services.projects.repository import InMemoryProjectRepository
from relay.services.projects.service import ProjectService
from relay.services.training.repository import InMemoryTrainingJobRepository
from relay.services.training.validation import _uploaded
from relay.settings import Settings

pytestmark = pytest.mark.unit

OWNER = Principal(key_id="k", is_admin=False)
NOW = 1_700_000_000
THRESHOLD = 64
GOOD = b"".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}).encode() + b"\n" for i in range(5))
# 25 broken lines after a good one: the record keeps the first 20 and the count.
BAD = GOOD[: GOOD.index(b"\n") + 1] + b"".join(b'{"prompt": "x%d"}\n' % i for i in range(25))


class World:
    def __init__(self, *, worker: bool = True) -> None:
        self.repo = InMemoryProjectRepository()
        self.objects = InMemoryObjectStore()
        self.worker = InMemoryWorker()
        settings = Settings(
            table_name="t", bucket_name="b", admin_secret_id="s", dataset_sync_verify_max_bytes=THRESHOLD
        )
        self.projects = ProjectService(self.repo, self.objects, clock=lambda: NOW)
        self.repository = InMemoryDatasetRepository(self.repo)
        self.datasets = DatasetService(
            self.projects,
            self.repository,
            InMemoryTrainingJobRepository(self.repo),
            self.objects,
            settings,
            clock=lambda: NOW,
        )
        self.verifier = DatasetVerifier(
            self.repository, self.objects, settings, clock=lambda: NOW, worker=self.worker if worker else None
        )
        self.uploads = DatasetUploads(
            self.projects,
            self.datasets,
            self.repository,
            self.verifier,
            self.objects,
            settings,
            clock=lambda: NOW,
        )
        self.project = self.projects.create(None, OWNER).id

    def start(self, data: bytes, filename: str = "big.jsonl") -> Dataset:
        pending, _ = self.uploads.start_upload(
            self.project,
            OWNER,
            name=None,
            filename=filename,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        return pending

    def run_worker(self) -> list[dict[str, Any]]:
        """What Lambda does with the queued events: the pipeline worker's `verify_dataset` step."""
        pipeline = SimpleNamespace(dataset_verifier=self.verifier)
        results = [run(steps(lambda line: None), pipeline, event) for event in self.worker.submitted]  # type: ignore[arg-type]
        return results


@pytest.fixture()
def world() -> World:
    return World()


def test_a_large_upload_is_handed_off_once_then_recorded_uploaded(world: World) -> None:
    pending = world.start(GOOD)
    assert len(GOOD) > THRESHOLD
    world.objects.objects[pending.object_key] = GOOD
    handed = world.uploads.complete_upload(world.project, pending.id, OWNER)
    assert handed.state == "verifying" and not handed.is_uploaded
    assert world.worker.submitted == [
        {"step": "verify_dataset", "project_id": world.project, "dataset_id": pending.id}
    ]
    again = world.uploads.complete_upload(world.project, pending.id, OWNER)  # a client retrying
    assert again.state == "verifying" and len(world.worker.submitted) == 1
    detail = dataset_detail(again)
    assert detail.status == "verifying" and detail.is_uploaded is False and detail.error is None

    assert world.run_worker() == [
        {"project_id": world.project, "dataset_id": pending.id, "state": "uploaded"}
    ]
    done = world.datasets.get(world.project, pending.id, OWNER)
    assert done.is_uploaded and done.format == "prompt_completion" and done.num_rows == 5
    assert done.sha256 == hashlib.sha256(GOOD).hexdigest() and done.expires_at is None
    assert world.uploads.complete_upload(world.project, pending.id, OWNER).uploaded_at == done.uploaded_at
    # Lambda may deliver an asynchronous event twice: the second run changes nothing.
    assert world.run_worker()[0]["state"] == "uploaded"
    assert world.datasets.get(world.project, pending.id, OWNER) == done
    assert dataset_detail(done).status == "uploaded"


def test_small_files_keep_the_synchronous_path(world: World) -> None:
    small = GOOD[: GOOD.index(b"\n") + 1]
    assert len(small) <= THRESHOLD
    pending = world.start(small)
    world.objects.objects[pending.object_key] = small
    assert world.uploads.complete_upload(world.project, pending.id, OWNER).is_uploaded
    assert world.worker.submitted == []


def test_what_s3_knows_is_refused_before_the_hand_off(world: World) -> None:
    pending = world.start(GOOD)
    with pytest.raises(ConflictError) as caught:
        world.uploads.complete_upload(world.project, pending.id, OWNER)
    assert caught.value.code == "upload_incomplete"
    world.objects.objects[pending.object_key] = GOOD + b"\n"  # not the declared size
    with pytest.raises(BadRequestError) as refused:
        world.uploads.complete_upload(world.project, pending.id, OWNER)
    assert refused.value.code == "checksum_mismatch"
    assert (
        world.worker.submitted == []
        and world.datasets.get(world.project, pending.id, OWNER).state == "pending"
    )


def test_a_checksum_mismatch_found_by_the_worker_marks_the_dataset_invalid(world: World) -> None:
    pending = world.start(GOOD)
    world.objects.objects[pending.object_key] = GOOD[:-2] + b" \n"  # same size, other bytes
    assert world.uploads.complete_upload(world.project, pending.id, OWNER).state == "verifying"
    assert world.run_worker()[0]["state"] == "invalid"
    invalid = world.datasets.get(world.project, pending.id, OWNER)
    assert invalid.state == "invalid" and not invalid.is_uploaded
    assert invalid.error is not None and invalid.error.code == "checksum_mismatch"
    assert invalid.expires_at == NOW + 24 * 3600
    assert world.objects.objects == {}
    with pytest.raises(BadRequestError) as caught:  # `complete` answers what the worker found
        world.uploads.complete_upload(world.project, pending.id, OWNER)
    assert caught.value.code == "checksum_mismatch" and len(world.worker.submitted) == 1


def test_invalid_content_is_kept_a_day_with_its_first_line_errors(world: World) -> None:
    pending = world.start(BAD)
    world.objects.objects[pending.object_key] = BAD
    world.uploads.complete_upload(world.project, pending.id, OWNER)
    world.run_worker()
    invalid = world.datasets.get(world.project, pending.id, OWNER)
    assert invalid.state == "invalid" and invalid.expires_at == NOW + 24 * 3600
    detail = dataset_detail(invalid, world.datasets.download_url(invalid))
    assert detail.status == "invalid" and detail.is_uploaded is False and detail.dataset_download_url is None
    assert detail.error is not None and detail.error.code == "invalid_dataset"
    assert detail.error.problem_lines == 25 and len(detail.error.lines) == 20
    assert [e.line for e in detail.error.lines] == list(range(2, 22))
    assert detail.error.lines[0].message.startswith("unrecognised row")
    assert "25 line(s) with problems" in detail.error.message
    assert world.objects.objects == {}
    with pytest.raises(BadRequestError, match="line 2"):
        world.uploads.complete_upload(world.project, pending.id, OWNER)
    # Neither an invalid nor a verifying dataset can train.
    with pytest.raises(BadRequestError, match="has not finished uploading"):
        _uploaded(world.repository, world.project, pending.id, "train_dataset_id")
    world.datasets.delete(world.project, pending.id, OWNER)
    assert world.datasets.list(world.project, OWNER) == []


def test_a_dataset_deleted_while_verifying_stays_deleted(world: World) -> None:
    pending = world.start(GOOD)
    world.objects.objects[pending.object_key] = GOOD
    world.uploads.complete_upload(world.project, pending.id, OWNER)
    with pytest.raises(BadRequestError, match="has not finished uploading"):
        _uploaded(world.repository, world.project, pending.id, "train_dataset_id")
    world.datasets.delete(world.project, pending.id, OWNER)
    assert world.objects.objects == {} and world.datasets.list(world.project, OWNER) == []
    assert world.run_worker()[0]["state"] == "deleted"
    assert world.datasets.list(world.project, OWNER) == []


def test_a_failed_hand_off_leaves_the_dataset_pending_for_a_retry(world: World) -> None:
    pending = world.start(GOOD)
    world.objects.objects[pending.object_key] = GOOD
    world.worker.fail = True
    with pytest.raises(ServiceUnavailableError):
        world.uploads.complete_upload(world.project, pending.id, OWNER)
    assert world.datasets.get(world.project, pending.id, OWNER).state == "pending"
    world.worker.fail = False
    assert world.uploads.complete_upload(world.project, pending.id, OWNER).state == "verifying"
    assert len(world.worker.submitted) == 1


def test_without_a_worker_large_uploads_are_refused_not_verified_inline() -> None:
    world = World(worker=False)
    pending = world.start(GOOD)
    world.objects.objects[pending.object_key] = GOOD
    with pytest.raises(ServiceUnavailableError, match="RELAY_WORKER_FUNCTION_NAME"):
        world.uploads.complete_upload(world.project, pending.id, OWNER)
    assert world.datasets.get(world.project, pending.id, OWNER).state == "pending"


def test_a_concurrent_completion_that_lost_the_hand_off_answers_verifying(world: World) -> None:
    pending = world.start(GOOD)
    world.objects.objects[pending.object_key] = GOOD
    repo = world.repository
    repo.begin_verify(world.project, pending.id, NOW)  # the other request won between our read and write
    assert world.verifier.hand_off(pending).state == "verifying"
    assert world.worker.submitted == []


def test_only_the_state_read_can_be_settled() -> None:
    repo_world = World()
    pending = repo_world.start(GOOD)
    repo = repo_world.repository
    with pytest.raises(ConflictError):
        repo.mark_invalid(pending, DatasetRejection("invalid_dataset", "bad"), NOW, NOW + 1)  # not verifying
    with pytest.raises(ConflictError):
        repo.abort_verify(repo_world.project, pending.id, NOW)
    verifying = repo.begin_verify(repo_world.project, pending.id, NOW)
    with pytest.raises(ConflictError):
        repo.mark_uploaded(pending, NOW)  # read as pending, now verifying
    with pytest.raises(ConflictError):
        repo.mark_uploaded(replace(verifying, state="uploaded"), NOW)
    assert repo.mark_uploaded(verifying, NOW).is_uploaded
