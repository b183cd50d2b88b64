"""DynamoDB adapters for projects and datasets (key layout in `layout.py`), with conditional writes."""

from __future__ import annotations

import builtins
from dataclasses import asdict, fields
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.dynamodb import cancellation_reasons, from_item, query_all, raise_mapped, to_item
from relay.errors import ConflictError
from relay.services.control.layout import (
    DATASET_SK_PREFIX,
    DEPLOYMENT_SK_PREFIX,
    PROJECT_SK,
    PROJECTS_GSI_PK,
    PROJECTS_INDEX,
    TRAINING_SK_PREFIX,
    Dataset,
    Project,
    ProjectContents,
    dataset_sk,
    project_pk,
)
from relay.services.control.repository import VERIFIABLE, dataset_not_found, project_not_found

_DATASET_FIELDS = {f.name for f in fields(Dataset)}
_PROJECT_FIELDS = {f.name for f in fields(Project)}
_NAMES = {"#state": "state"}
_BATCH = 25


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _project(values: dict[str, Any]) -> Project:
    return Project(**{k: v for k, v in values.items() if k in _PROJECT_FIELDS})


def _dataset(values: dict[str, Any]) -> Dataset:
    return Dataset(**{k: v for k, v in values.items() if k in _DATASET_FIELDS})


class _Table:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _partition(self, project_id: str, sk_prefix: str | None = None) -> list[dict[str, Any]]:
        condition = "pk = :pk" + (" AND begins_with(sk, :sk)" if sk_prefix else "")
        values = {":pk": {"S": project_pk(project_id)}}
        if sk_prefix:
            values[":sk"] = {"S": sk_prefix}
        try:
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc)
        return [from_item(item) for item in items]

    def _set_state(
        self, pk: str, sk: str, new: str, expected: tuple[str, ...], now: int, **errors: str
    ) -> None:
        values: dict[str, Any] = {":new": {"S": new}, ":now": {"N": str(now)}}
        allowed = []
        for i, state in enumerate(expected):
            values[f":s{i}"] = {"S": state}
            allowed.append(f":s{i}")
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(pk, sk),
                UpdateExpression="SET #state = :new, updated_at = :now",
                ConditionExpression=f"attribute_exists(pk) AND #state IN ({', '.join(allowed)})",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc, **errors)


class DynamoDBProjectRepository(_Table):
    def create(self, project: Project) -> None:
        item = to_item(
            {
                "pk": project_pk(project.id),
                "sk": PROJECT_SK,
                "gsi1pk": PROJECTS_GSI_PK,
                "gsi1sk": f"{project.created_at:010d}#{project.id}",
                **asdict(project),
            }
        )
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc, conflict=f"Project {project.id} already exists")

    def get(self, project_id: str) -> Project | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key=_key(project_pk(project_id), PROJECT_SK), ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc)
        return _project(from_item(item)) if item else None

    def list(self) -> list[Project]:
        try:
            items = query_all(
                self._client,
                TableName=self._table,
                IndexName=PROJECTS_INDEX,
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": PROJECTS_GSI_PK}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc)
        return [_project(from_item(item)) for item in items]

    def contents(self, project_id: str) -> ProjectContents | None:
        project: Project | None = None
        datasets: list[Dataset] = []
        jobs: list[dict[str, object]] = []
        deployments: list[dict[str, object]] = []
        for values in self._partition(project_id):
            sk = values["sk"]
            if sk == PROJECT_SK:
                project = _project(values)
            elif sk.startswith(DATASET_SK_PREFIX):
                datasets.append(_dataset(values))
            elif sk.startswith(TRAINING_SK_PREFIX):
                jobs.append(values)
            elif sk.startswith(DEPLOYMENT_SK_PREFIX):
                deployments.append(values)
        if project is None:
            return None
        datasets.sort(key=lambda d: (d.created_at, d.id))
        return ProjectContents(project, datasets, jobs, deployments)

    def begin_delete(self, project_id: str, now: int) -> ProjectContents:
        if self.get(project_id) is None:
            raise project_not_found(project_id)
        self._set_state(
            project_pk(project_id),
            PROJECT_SK,
            "deleting",
            ("active", "deleting"),  # a delete cut short can be run again
            now,
            not_found=f"No project with id '{project_id}'",
        )
        contents = self.contents(project_id)
        if contents is None:
            raise project_not_found(project_id)
        return contents

    def abort_delete(self, project_id: str, now: int) -> None:
        self._set_state(project_pk(project_id), PROJECT_SK, "active", ("deleting",), now, conflict="gone")

    def purge(self, project_id: str) -> None:
        keys = [_key(v["pk"], v["sk"]) for v in self._partition(project_id)]
        # The project item goes last, so a purge cut short can be finished by deleting again.
        keys.sort(key=lambda k: k["sk"]["S"] == PROJECT_SK)
        for start in range(0, len(keys), _BATCH):
            requests = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + _BATCH]]
            pending: dict[str, Any] = {self._table: requests}
            try:
                while pending:
                    pending = (
                        self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                    )
            except (ClientError, BotoCoreError) as exc:
                raise_mapped(exc)


class DynamoDBDatasetRepository(_Table):
    def add(self, dataset: Dataset) -> None:
        values = {"pk": project_pk(dataset.project_id), "sk": dataset_sk(dataset.id), **asdict(dataset)}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": _key(project_pk(dataset.project_id), PROJECT_SK),
                            "ConditionExpression": "#state = :active",
                            "ExpressionAttributeNames": _NAMES,
                            "ExpressionAttributeValues": {":active": {"S": "active"}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(values),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except (ClientError, BotoCoreError) as exc:
            reasons = cancellation_reasons(exc)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise project_not_found(dataset.project_id) from exc
            raise_mapped(exc, conflict=f"Dataset {dataset.id} already exists")

    def get(self, project_id: str, dataset_id: str) -> Dataset | None:
        try:
            item = self._client.get_item(
                TableName=self._table,
                Key=_key(project_pk(project_id), dataset_sk(dataset_id)),
                ConsistentRead=True,
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc)
        return _dataset(from_item(item)) if item else None

    def list(self, project_id: str) -> list[Dataset]:
        datasets = [_dataset(v) for v in self._partition(project_id, DATASET_SK_PREFIX)]
        return sorted(datasets, key=lambda d: (d.created_at, d.id))

    def mark_uploaded(self, dataset: Dataset, now: int) -> Dataset:
        if dataset.state not in VERIFIABLE:
            raise ConflictError(f"Dataset {dataset.id} is no longer waiting for its upload")
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(project_pk(dataset.project_id), dataset_sk(dataset.id)),
                UpdateExpression=(
                    "SET #state = :uploaded, sha256 = :sha, #size = :size, #format = :format, "
                    "num_rows = :rows, uploaded_at = :now, updated_at = :now REMOVE expires_at"
                ),
                ConditionExpression="#state = :expected",
                ExpressionAttributeNames={**_NAMES, "#format": "format", "#size": "size"},
                ExpressionAttributeValues=to_item(
                    {
                        ":uploaded": "uploaded",
                        ":expected": dataset.state,
                        ":sha": dataset.sha256,
                        ":size": dataset.size,
                        ":format": dataset.format or "",
                        ":rows": dataset.num_rows or 0,
                        ":now": now,
                    }
                ),
            )
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc, conflict=f"Dataset {dataset.id} is no longer waiting for its upload")
        return self._reread(dataset.project_id, dataset.id)

    def _reread(self, project_id: str, dataset_id: str) -> Dataset:
        found = self.get(project_id, dataset_id)
        if found is None:
            raise dataset_not_found(dataset_id)
        return found

    def begin_verify(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        self._set_state(
            project_pk(project_id),
            dataset_sk(dataset_id),
            "verifying",
            ("pending",),
            now,
            conflict=f"Dataset {dataset_id} is no longer waiting for its upload",
        )
        return self._reread(project_id, dataset_id)

    def abort_verify(self, project_id: str, dataset_id: str, now: int) -> None:
        self._set_state(
            project_pk(project_id),
            dataset_sk(dataset_id),
            "pending",
            ("verifying",),
            now,
            conflict=f"Dataset {dataset_id} is no longer being verified",
        )

    def mark_invalid(self, dataset: Dataset, error: dict[str, Any], now: int, expires_at: int) -> Dataset:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(project_pk(dataset.project_id), dataset_sk(dataset.id)),
                UpdateExpression=(
                    "SET #state = :invalid, #error = :error, updated_at = :now, expires_at = :expires"
                ),
                ConditionExpression="#state = :verifying",
                ExpressionAttributeNames={**_NAMES, "#error": "error"},
                ExpressionAttributeValues=to_item(
                    {
                        ":invalid": "invalid",
                        ":verifying": "verifying",
                        ":error": error,
                        ":now": now,
                        ":expires": expires_at,
                    }
                ),
            )
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc, conflict=f"Dataset {dataset.id} is no longer being verified")
        return self._reread(dataset.project_id, dataset.id)

    def begin_delete(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        current = self.get(project_id, dataset_id)
        if current is None:
            raise dataset_not_found(dataset_id)
        # Conditioned on the state just read, so a concurrent upload completion or delete wins cleanly.
        self._set_state(
            project_pk(project_id),
            dataset_sk(dataset_id),
            "deleting",
            (current.state,),
            now,
            conflict=f"Dataset {dataset_id} changed while being deleted; try again",
        )
        return current

    def restore(self, dataset: Dataset) -> None:
        self._set_state(
            project_pk(dataset.project_id),
            dataset_sk(dataset.id),
            dataset.state,
            ("deleting",),
            dataset.updated_at,
            conflict="gone",
        )

    def remove(self, project_id: str, dataset_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table, Key=_key(project_pk(project_id), dataset_sk(dataset_id))
            )
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc)

    def training_jobs(self, project_id: str) -> builtins.list[dict[str, object]]:
        return list(self._partition(project_id, TRAINING_SK_PREFIX))
