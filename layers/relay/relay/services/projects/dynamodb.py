"""DynamoDB adapter for projects (key layout in `relay/services/layout.py`), with conditional writes.

`ControlTable` is the base the dataset adapter shares: one project's partition read with one
Query, and state moves conditioned on the states the feature's transition table allows.
"""

from __future__ import annotations

from typing import Any

from relay.backends.dynamodb import dynamodb_errors, from_item, put_new, query_all, to_item
from relay.services.datasets.models import Dataset
from relay.services.layout import (
    DATASET_SK_PREFIX,
    DEPLOYMENT_SK_PREFIX,
    PROJECT_SK,
    PROJECTS_GSI_PK,
    PROJECTS_INDEX,
    TRAINING_SK_PREFIX,
    item_key,
    project_pk,
)
from relay.services.projects.models import DeploymentRef, Project, ProjectContents, project_sources_of
from relay.services.projects.repository import project_not_found
from relay.services.training.models import TrainingJob

STATE_NAMES = {"#state": "state"}
_BATCH = 25


def _project(values: dict[str, Any]) -> Project:
    return Project(
        id=values["id"],
        name=values["name"],
        created_at=int(values["created_at"]),
        updated_at=int(values["updated_at"]),
        state=values.get("state", "active"),
        owner=values.get("owner"),
    )


class ControlTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _partition(self, project_id: str, sk_prefix: str | None = None) -> list[dict[str, Any]]:
        condition = "pk = :pk" + (" AND begins_with(sk, :sk)" if sk_prefix else "")
        values = {":pk": {"S": project_pk(project_id)}}
        if sk_prefix:
            values[":sk"] = {"S": sk_prefix}
        with dynamodb_errors():
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ConsistentRead=True,
            )
        return [from_item(item) for item in items]

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table, Key=item_key(pk, sk), ConsistentRead=True
            ).get("Item")
        return from_item(item) if item else None

    def _set_state(
        self,
        pk: str,
        sk: str,
        new: str,
        expected: tuple[str, ...],
        now: int,
        *,
        conflict: str | None = None,
        not_found: str | None = None,
    ) -> None:
        values: dict[str, Any] = {":new": {"S": new}, ":now": {"N": str(now)}}
        allowed = []
        for i, state in enumerate(expected):
            values[f":s{i}"] = {"S": state}
            allowed.append(f":s{i}")
        with dynamodb_errors(conflict=conflict, not_found=not_found):
            self._client.update_item(
                TableName=self._table,
                Key=item_key(pk, sk),
                UpdateExpression="SET #state = :new, updated_at = :now",
                ConditionExpression=f"attribute_exists(pk) AND #state IN ({', '.join(allowed)})",
                ExpressionAttributeNames=STATE_NAMES,
                ExpressionAttributeValues=values,
            )


class DynamoDBProjectRepository(ControlTable):
    def create(self, project: Project) -> None:
        item = to_item(
            {
                "pk": project_pk(project.id),
                "sk": PROJECT_SK,
                "gsi1pk": PROJECTS_GSI_PK,
                "gsi1sk": f"{project.created_at:010d}#{project.id}",
                "id": project.id,
                "name": project.name,
                "created_at": project.created_at,
                "updated_at": project.updated_at,
                "state": project.state,
                "owner": project.owner,
            }
        )
        put_new(self._client, self._table, item, conflict=f"Project {project.id} already exists")

    def get(self, project_id: str) -> Project | None:
        values = self._get(project_pk(project_id), PROJECT_SK)
        return _project(values) if values else None

    def list(self) -> list[Project]:
        with dynamodb_errors():
            items = query_all(
                self._client,
                TableName=self._table,
                IndexName=PROJECTS_INDEX,
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": PROJECTS_GSI_PK}},
            )
        return [_project(from_item(item)) for item in items]

    def contents(self, project_id: str) -> ProjectContents | None:
        project: Project | None = None
        datasets: list[Dataset] = []
        jobs: list[TrainingJob] = []
        deployments: list[DeploymentRef] = []
        for values in self._partition(project_id):
            sk = values["sk"]
            if sk == PROJECT_SK:
                project = _project(values)
            elif sk.startswith(DATASET_SK_PREFIX):
                datasets.append(Dataset.from_values(values))
            elif sk.startswith(TRAINING_SK_PREFIX):
                jobs.append(TrainingJob.from_values(values))
            elif sk.startswith(DEPLOYMENT_SK_PREFIX):
                deployments.append(DeploymentRef.from_values(values))
        if project is None:
            return None
        datasets.sort(key=lambda d: (d.created_at, d.id))
        jobs.sort(key=lambda j: (j.created_at, j.id))
        return ProjectContents(project, datasets, jobs, deployments)

    def begin_delete(self, project_id: str, now: int) -> ProjectContents:
        if self.get(project_id) is None:
            raise project_not_found(project_id)
        self._set_state(
            project_pk(project_id),
            PROJECT_SK,
            "deleting",
            project_sources_of("deleting"),  # a delete cut short can be run again
            now,
            not_found=f"No project with id '{project_id}'",
        )
        contents = self.contents(project_id)
        if contents is None:
            raise project_not_found(project_id)
        return contents

    def abort_delete(self, project_id: str, now: int) -> None:
        self._set_state(
            project_pk(project_id), PROJECT_SK, "active", project_sources_of("active"), now, conflict="gone"
        )

    def purge(self, project_id: str) -> None:
        keys = [item_key(v["pk"], v["sk"]) for v in self._partition(project_id)]
        # The project item goes last, so a purge cut short can be finished by deleting again.
        keys.sort(key=lambda k: k["sk"]["S"] == PROJECT_SK)
        for start in range(0, len(keys), _BATCH):
            requests = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + _BATCH]]
            pending: dict[str, Any] = {self._table: requests}
            with dynamodb_errors():
                while pending:
                    pending = (
                        self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                    )
