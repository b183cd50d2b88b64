"""Project and dataset services over the in-memory fakes: limits, verification, conflicts, cleanup."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from relay.backends.s3 import InMemoryObjectStore
from relay.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
)
from relay.services.datasets.repository import InMemoryDatasetRepository
from relay.services.datasets.service import DatasetService
from relay.services.datasets.uploads import DatasetUploads, safe_filename
from relay.services.datasets.verification import DatasetVerifier
from relay.services.keys.access import can_see
from relay.services.keys.auth import Authenticator
from relay.services.keys.models import ADMIN, Principal
from relay.services.keys.repository import InMemoryApiKeyRepository
from relay.services.keys.service import generate_key
from relay.services.projects.models import DeploymentRef
from relay.services.projects.repository import InMemoryProjectRepository
from relay.services.projects.service import ProjectService
from relay.services.training.models import TrainingJob
from relay.services.training.repository import InMemoryTrainingJobRepository
from relay.settings import DATASET_INLINE_MAX_BYTES, MULTIPART_BODY_MAX_BYTES, Settings

pytestmark = pytest.mark.unit

OWNER = Principal(key_id="k1", is_admin=False)
GOOD = b"".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}).encode() + b"\n" for i in range(5))


class World:
    def __init__(self, **settings: object) -> None:
        self.repo = InMemoryProjectRepository()
        self.objects = InMemoryObjectStore()
        self.settings = Settings(table_name="t", bucket_name="b", admin_secret_id="s", **settings)  # type: ignore[arg-type]
        self.projects = ProjectService(self.repo, self.objects, clock=lambda: 1_700_000_000)
        repository = InMemoryDatasetRepository(self.repo)
        self.jobs = InMemoryTrainingJobRepository(self.repo)
        self.datasets = DatasetService(
            self.projects, repository, self.jobs, self.objects, self.settings, clock=lambda: 1_700_000_000
        )
        verifier = DatasetVerifier(repository, self.objects, self.settings, clock=lambda: 1_700_000_000)
        self.uploads = DatasetUploads(
            self.projects,
            self.datasets,
            repository,
            verifier,
            self.objects,
            self.settings,
            clock=lambda: 1_700_000_000,
        )


@pytest.fixture()
def world() -> World:
    return World()


def test_upload_limit_is_the_lambda_payload_after_base64() -> None:
    assert MULTIPART_BODY_MAX_BYTES == 4_669_440
    assert DATASET_INLINE_MAX_BYTES == 4_653_056
    # The largest accepted request, base64 encoded, still fits a 6 MiB invoke with 64 KiB to spare.
    assert (MULTIPART_BODY_MAX_BYTES + 2) // 3 * 4 + 64 * 1024 <= 6 * 1024 * 1024


def test_inline_upload_stores_the_object_and_a_verified_record(world: World) -> None:
    project = world.projects.create("démo 🚀", OWNER)
    dataset = world.uploads.upload(project.id, OWNER, filename="../x/train.jsonl", content=GOOD, name=None)
    assert dataset.is_uploaded and dataset.format == "prompt_completion" and dataset.num_rows == 5
    assert dataset.sha256 == hashlib.sha256(GOOD).hexdigest()
    assert dataset.name == "../x/train.jsonl" and dataset.filename == "train.jsonl"
    assert world.objects.objects[dataset.object_key] == GOOD
    assert dataset.object_key.startswith(f"projects/{project.id}/datasets/{dataset.id}/")


def test_invalid_or_oversized_uploads_leave_nothing(world: World) -> None:
    project = world.projects.create(None, OWNER)
    with pytest.raises(BadRequestError) as caught:
        world.uploads.upload(project.id, OWNER, filename="d.jsonl", content=b"{bad\n", name=None)
    assert caught.value.code == "invalid_dataset" and "line 1" in caught.value.message
    with pytest.raises(PayloadTooLargeError, match="presigned"):
        world.uploads.upload(
            project.id, OWNER, filename="d.jsonl", content=b"x" * (DATASET_INLINE_MAX_BYTES + 1), name=None
        )
    assert world.datasets.list(project.id, OWNER) == [] and world.objects.objects == {}


def test_a_failed_record_write_removes_the_object(world: World) -> None:
    project = world.projects.create(None, OWNER)
    world.repo.projects[project.id] = replace(project, state="deleting")  # a delete began meanwhile
    with pytest.raises(NotFoundError):
        world.uploads.upload(project.id, OWNER, filename="d.jsonl", content=GOOD, name=None)
    assert world.objects.objects == {}


def test_presigned_flow_verifies_size_checksum_and_content(world: World) -> None:
    project = world.projects.create(None, OWNER)
    digest = hashlib.sha256(GOOD).hexdigest()
    pending, post = world.uploads.start_upload(
        project.id, OWNER, name="big", filename="big.jsonl", size=len(GOOD), sha256=digest.upper()
    )
    assert not pending.is_uploaded and pending.expires_at is not None
    assert post.fields["x-amz-checksum-sha256"]
    with pytest.raises(ConflictError) as caught:
        world.uploads.complete_upload(project.id, pending.id, OWNER)
    assert caught.value.code == "upload_incomplete"

    world.objects.objects[pending.object_key] = GOOD[:-1] + b" "  # same size, other bytes
    with pytest.raises(BadRequestError) as caught:
        world.uploads.complete_upload(project.id, pending.id, OWNER)
    assert caught.value.code == "checksum_mismatch"
    assert pending.object_key not in world.objects.objects
    assert not world.datasets.get(project.id, pending.id, OWNER).is_uploaded

    world.objects.objects[pending.object_key] = GOOD
    done = world.uploads.complete_upload(project.id, pending.id, OWNER)
    assert done.is_uploaded and done.num_rows == 5 and done.expires_at is None
    assert world.uploads.complete_upload(project.id, pending.id, OWNER).uploaded_at == done.uploaded_at
    assert world.datasets.download_url(done)


def test_presigned_upload_of_invalid_content_is_forgotten(world: World) -> None:
    project = world.projects.create(None, OWNER)
    bad = b"text,label\nonly-one-column\n"
    pending, _ = world.uploads.start_upload(
        project.id, OWNER, name=None, filename="d.csv", size=len(bad), sha256=hashlib.sha256(bad).hexdigest()
    )
    world.objects.objects[pending.object_key] = bad
    with pytest.raises(BadRequestError, match="line 2"):
        world.uploads.complete_upload(project.id, pending.id, OWNER)
    assert world.datasets.list(project.id, OWNER) == [] and world.objects.objects == {}


@pytest.mark.parametrize(("size", "sha"), [(6 * 1024**3, "0" * 64), (10, "abc"), (10, "g" * 64)])
def test_presigned_declarations_are_checked(world: World, size: int, sha: str) -> None:
    project = world.projects.create(None, OWNER)
    with pytest.raises((BadRequestError, PayloadTooLargeError)):
        world.uploads.start_upload(project.id, OWNER, name=None, filename=None, size=size, sha256=sha)


def test_deletes_refuse_while_training_or_serving(world: World) -> None:
    project = world.projects.create(None, OWNER)
    ds = world.uploads.upload(project.id, OWNER, filename="d.jsonl", content=GOOD, name=None)
    job = TrainingJob(
        id="tr-0123456789abcdef",
        project_id=project.id,
        name="j",
        created_at=1,
        updated_at=1,
        status="Running",
        train_dataset_id=ds.id,
    )
    world.jobs.create(job)
    with pytest.raises(ConflictError, match="tr-0123456789abcdef"):
        world.datasets.delete(project.id, ds.id, OWNER)
    assert world.datasets.get(project.id, ds.id, OWNER).state == "uploaded"  # restored
    with pytest.raises(ConflictError, match="training job"):
        world.projects.delete(project.id, OWNER)
    assert world.repo.projects[project.id].state == "active"

    world.jobs.transition(project.id, job.id, "Testing", 2)
    world.jobs.transition(project.id, job.id, "Success", 3)
    world.repo.deployments[project.id] = [DeploymentRef(id="dp-0123456789abcdef", status="Deactivated")]
    with pytest.raises(ConflictError, match="deployment"):
        world.projects.delete(project.id, OWNER)
    world.repo.deployments[project.id] = [DeploymentRef(id="dp-0123456789abcdef", status="Terminated")]
    world.datasets.delete(project.id, ds.id, OWNER)
    world.projects.delete(project.id, OWNER)
    assert world.repo.projects == {} and world.objects.objects == {}


@pytest.mark.parametrize("bad_id", ["ds-0123456789abcdef", "ms-nope", "tr-0123456789abcdef", ""])
def test_unknown_and_foreign_ids_are_not_found(world: World, bad_id: str) -> None:
    with pytest.raises(NotFoundError):
        world.projects.detail(bad_id, OWNER)
    project = world.projects.create(None, OWNER)
    with pytest.raises(NotFoundError):
        world.datasets.get(project.id, bad_id.replace("ds-", "ms-"), OWNER)


def test_names_are_trimmed_bounded_and_printable(world: World) -> None:
    assert world.projects.create("  名前  ", OWNER).name == "名前"
    blank = world.projects.create("   ", OWNER)
    assert blank.name == blank.id
    for bad in ("x" * 257, "tab\tname"):
        with pytest.raises(BadRequestError):
            world.projects.create(bad, OWNER)
    assert safe_filename("C:\\Users\\me\\données.jsonl") == "donn_es.jsonl"
    assert safe_filename(None) == "dataset"


def test_revoked_key_leaves_the_cache_of_this_instance() -> None:
    keys = InMemoryApiKeyRepository()
    plaintext, record = generate_key("ci")
    keys.put(record)
    auth = Authenticator(lambda: "admin-key", keys, ttl=60)
    assert auth.authenticate(plaintext).key_id == record.id
    keys.delete(record.id)
    assert auth.authenticate(plaintext).key_id == record.id  # still cached: the documented TTL
    auth.forget(record.id)
    with pytest.raises(AuthenticationError, match="Incorrect API key"):
        auth.authenticate(plaintext)


def test_another_keys_project_is_not_found_and_the_admin_sees_everything(world: World) -> None:
    other = Principal(key_id="k2", is_admin=False)
    project = world.projects.create(None, OWNER)
    ds = world.uploads.upload(project.id, OWNER, filename="d.jsonl", content=GOOD, name=None)
    assert project.owner == "k1" and world.projects.list(other) == []
    for attempt in (
        lambda: world.projects.detail(project.id, other),
        lambda: world.projects.delete(project.id, other),
        lambda: world.datasets.list(project.id, other),
        lambda: world.datasets.get(project.id, ds.id, other),
        lambda: world.datasets.delete(project.id, ds.id, other),
        lambda: world.uploads.upload(project.id, other, filename="d.jsonl", content=GOOD, name=None),
    ):
        with pytest.raises(NotFoundError, match=project.id):  # the same answer as an unknown id
            attempt()
    assert world.datasets.list(project.id, OWNER) == [ds]
    assert world.projects.list(ADMIN) == [project] and world.projects.detail(project.id, ADMIN).datasets == [
        ds
    ]


def test_a_project_recorded_before_owners_existed_is_the_admins_alone(world: World) -> None:
    project = world.projects.create(None, OWNER)
    world.repo.projects[project.id] = replace(project, owner=None)
    with pytest.raises(NotFoundError):
        world.projects.get_owned(project.id, OWNER)
    assert world.projects.get_owned(project.id, ADMIN).id == project.id
    assert can_see(ADMIN, None) and not can_see(OWNER, None) and not can_see(OWNER, "admin")
