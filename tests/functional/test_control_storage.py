"""The DynamoDB adapters' conditional writes on moto: no duplicate ids, no lost updates, full purges."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from relay.backends.dynamodb import raise_mapped
from relay.errors import ConflictError, NotFoundError, RateLimitError, RelayError, ServiceUnavailableError
from relay.services.datasets.dynamodb import DynamoDBDatasetRepository
from relay.services.datasets.models import Dataset, DatasetRejection
from relay.services.layout import DATASET_PREFIX, PROJECT_PREFIX, new_id
from relay.services.projects.dynamodb import DynamoDBProjectRepository
from relay.services.projects.models import Project

pytestmark = pytest.mark.functional


@pytest.fixture()
def repos(services: Any) -> tuple[DynamoDBProjectRepository, DynamoDBDatasetRepository]:
    client = boto3.client("dynamodb")
    table = services.settings.table_name
    return DynamoDBProjectRepository(client, table), DynamoDBDatasetRepository(client, table)


def make_project() -> Project:
    return Project(id=new_id(PROJECT_PREFIX), name="storage", created_at=10, updated_at=10)


def make_dataset(project_id: str) -> Dataset:
    dataset_id = new_id(DATASET_PREFIX)
    return Dataset(
        id=dataset_id,
        project_id=project_id,
        name="d",
        filename="d.jsonl",
        object_key=f"projects/{project_id}/datasets/{dataset_id}/d.jsonl",
        created_at=10,
        updated_at=10,
        upload_by="k",
        sha256="0" * 64,
        size=3,
        expires_at=99,
    )


def test_ids_are_never_reused(repos: Any) -> None:
    projects, datasets = repos
    project = make_project()
    projects.create(project)
    with pytest.raises(ConflictError):
        projects.create(replace(project, name="other"))
    assert projects.get(project.id).name == "storage"
    dataset = make_dataset(project.id)
    datasets.add(dataset)
    with pytest.raises(ConflictError):
        datasets.add(replace(dataset, name="other"))
    assert datasets.get(project.id, dataset.id).name == "d"


def test_datasets_only_join_active_projects(repos: Any) -> None:
    projects, datasets = repos
    with pytest.raises(NotFoundError):
        datasets.add(make_dataset("ms-0000000000000000"))
    project = make_project()
    projects.create(project)
    projects.begin_delete(project.id, 11)
    with pytest.raises(NotFoundError):
        datasets.add(make_dataset(project.id))
    projects.abort_delete(project.id, 12)
    datasets.add(make_dataset(project.id))


def test_an_upload_is_completed_once(repos: Any) -> None:
    projects, datasets = repos
    project = make_project()
    projects.create(project)
    dataset = make_dataset(project.id)
    datasets.add(dataset)
    done = datasets.mark_uploaded(replace(dataset, format="chat", num_rows=1), 20)
    assert done.is_uploaded and done.uploaded_at == 20 and done.expires_at is None and done.format == "chat"
    with pytest.raises(ConflictError):
        datasets.mark_uploaded(dataset, 21)
    before = datasets.begin_delete(project.id, dataset.id, 22)
    assert before.state == "uploaded"
    with pytest.raises(ConflictError):  # a completion racing a delete loses
        datasets.mark_uploaded(dataset, 23)
    datasets.restore(before)
    assert datasets.get(project.id, dataset.id).state == "uploaded"


def test_purge_removes_every_item_of_a_large_partition(repos: Any) -> None:
    projects, datasets = repos
    project = make_project()
    projects.create(project)
    for _ in range(30):  # more than one BatchWriteItem
        datasets.add(make_dataset(project.id))
    contents = projects.begin_delete(project.id, 11)
    assert len(contents.datasets) == 30
    projects.purge(project.id)
    assert projects.contents(project.id) is None and datasets.list(project.id) == []


def test_dynamodb_errors_map_to_domain_errors() -> None:
    def error(code: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "m"}}, "PutItem")

    with pytest.raises(ConflictError):
        raise_mapped(error("ConditionalCheckFailedException"), conflict="taken")
    with pytest.raises(NotFoundError):
        raise_mapped(error("ConditionalCheckFailedException"), not_found="gone")
    with pytest.raises(RateLimitError):
        raise_mapped(error("ProvisionedThroughputExceededException"))
    with pytest.raises(ServiceUnavailableError):
        raise_mapped(error("InternalServerError"))
    # Unknown codes (a bug, a permission) are a 500 that keeps the ClientError as its cause.
    with pytest.raises(RelayError) as unknown:
        raise_mapped(error("AccessDeniedException"))
    assert unknown.value.status == 500 and isinstance(unknown.value.__cause__, ClientError)
    assert "AccessDeniedException" in unknown.value.message


def test_a_handed_off_upload_is_settled_once(repos: Any) -> None:
    projects, datasets = repos
    project = make_project()
    projects.create(project)
    dataset = make_dataset(project.id)
    datasets.add(dataset)
    with pytest.raises(ConflictError):  # only a verifying dataset can be refused
        datasets.mark_invalid(dataset, DatasetRejection("invalid_dataset", "bad"), 20, 99)
    verifying = datasets.begin_verify(project.id, dataset.id, 20)
    assert verifying.state == "verifying" and verifying.expires_at == 99  # abandoned, TTL still applies
    with pytest.raises(ConflictError):  # no second hand-off
        datasets.begin_verify(project.id, dataset.id, 21)
    with pytest.raises(ConflictError):  # a completion that read it pending lost the race
        datasets.mark_uploaded(dataset, 21)
    datasets.abort_verify(project.id, dataset.id, 22)
    assert datasets.get(project.id, dataset.id).state == "pending"

    datasets.begin_verify(project.id, dataset.id, 23)
    error = DatasetRejection(
        code="invalid_dataset",
        message="The dataset is not valid",
        problem_lines=21,
        lines=tuple((n, "not valid JSON") for n in range(1, 21)),
    )
    invalid = datasets.mark_invalid(verifying, error, 24, 24 + 86400)
    assert invalid.state == "invalid" and invalid.error == error and invalid.expires_at == 24 + 86400
    assert invalid.error.to_values() == {
        "code": "invalid_dataset",
        "message": "The dataset is not valid",
        "problem_lines": 21,
        "lines": [{"line": n, "message": "not valid JSON"} for n in range(1, 21)],
    }
    assert not invalid.is_uploaded and datasets.get(project.id, dataset.id) == invalid
    with pytest.raises(ConflictError):
        datasets.mark_uploaded(verifying, 25)
    before = datasets.begin_delete(project.id, dataset.id, 26)  # an invalid dataset can be deleted
    assert before.state == "invalid"
    datasets.remove(project.id, dataset.id)
    with pytest.raises(ConflictError):  # the worker finishing after a delete recreates nothing
        datasets.mark_invalid(verifying, error, 27, 99)
    assert datasets.get(project.id, dataset.id) is None

    other = make_dataset(project.id)
    datasets.add(other)
    handed = datasets.begin_verify(project.id, other.id, 30)
    done = datasets.mark_uploaded(replace(handed, format="chat", num_rows=2), 31)
    assert done.is_uploaded and done.state == "uploaded" and done.expires_at is None
