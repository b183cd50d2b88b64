"""Training jobs and their checkpoints in the one table (key layout: `services/control/layout.py`).

Every status change is a conditional write whose condition is the transition table
(`status.sources_of`), so two writers racing (the pipeline finishing, a user cancelling)
cannot both win, and a finished job never changes again.
"""

from __future__ import annotations

import builtins
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.backends.dynamodb import (
    cancellation_reasons,
    from_item,
    query_all,
    raise_mapped,
    to_attribute,
    to_item,
)
from relay.errors import BadRequestError, ConflictError, NotFoundError
from relay.services.control.layout import PROJECT_SK, TRAINING_SK_PREFIX, dataset_sk, project_pk
from relay.services.training import status as st

CHECKPOINT_SK_PREFIX = "CHECKPOINT#"


def training_sk(job_id: str) -> str:
    return f"{TRAINING_SK_PREFIX}{job_id}"


def checkpoint_sk(job_id: str, number: int) -> str:
    return f"{CHECKPOINT_SK_PREFIX}{job_id}#{number:06d}"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_item(item).items() if k not in ("pk", "sk", "gsi1pk", "gsi1sk")}


class DynamoDBTrainingJobRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, job: dict[str, Any], dataset_ids: builtins.list[str]) -> None:
        """Insert a Pending job while its project is active and each dataset is uploaded."""
        checks = [("project", _key(project_pk(job["project_id"]), PROJECT_SK), "active")]
        checks += [
            (f"dataset {d}", _key(project_pk(job["project_id"]), dataset_sk(d)), "uploaded")
            for d in dataset_ids
        ]
        items: list[dict[str, Any]] = [
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": key,
                    "ConditionExpression": "#state = :expected",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": {":expected": {"S": expected}},
                }
            }
            for _, key, expected in checks
        ]
        values = {
            "pk": project_pk(job["project_id"]),
            "sk": training_sk(job["id"]),
            "gsi1pk": training_sk(job["id"]),
            "gsi1sk": project_pk(job["project_id"]),
            **job,
        }
        items.append(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(values),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        try:
            self._client.transact_write_items(TransactItems=items)
        except (ClientError, BotoCoreError) as exc:
            reasons = cancellation_reasons(exc)
            for (what, _, expected), reason in zip(checks, reasons, strict=False):
                if reason == "ConditionalCheckFailed":
                    if what == "project":
                        raise NotFoundError(f"No project with id '{job['project_id']}'") from exc
                    raise BadRequestError(
                        f"The {what} is no longer {expected}", param="train_dataset_id"
                    ) from exc
            raise_mapped(exc, conflict=f"Training job {job['id']} already exists")

    def get(self, project_id: str, job_id: str) -> dict[str, Any] | None:
        try:
            item = self._client.get_item(
                TableName=self._table,
                Key=_key(project_pk(project_id), training_sk(job_id)),
                ConsistentRead=True,
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc)
        return _strip(item) if item else None

    def list(self, project_id: str) -> builtins.list[dict[str, Any]]:
        return self._query(project_id, TRAINING_SK_PREFIX)

    def checkpoints(self, project_id: str, job_id: str) -> builtins.list[dict[str, Any]]:
        return self._query(project_id, f"{CHECKPOINT_SK_PREFIX}{job_id}#")

    def _query(self, project_id: str, prefix: str) -> builtins.list[dict[str, Any]]:
        try:
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
                ExpressionAttributeValues={":pk": {"S": project_pk(project_id)}, ":sk": {"S": prefix}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc)
        return [_strip(item) for item in items]

    def transition(
        self, project_id: str, job_id: str, target: str, now: int, *, reason: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Move the job to `target` if the table allows it from its current status; returns the job.

        ConflictError when the current status does not allow it, NotFoundError when there is no job.
        """
        sources = st.sources_of(target)
        if not sources:
            raise ValueError(f"nothing transitions to {target}")
        entry: dict[str, Any] = {"status": target, "at": now}
        if reason:
            entry["reason"] = reason
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":to": {"S": target},
            ":now": {"N": str(now)},
            ":entry": {"L": [to_attribute(entry)]},
            ":empty": {"L": []},
        }
        sets = [
            "#status = :to",
            "updated_at = :now",
            "status_history = list_append(if_not_exists(status_history, :empty), :entry)",
        ]
        if reason and target in (st.FAILED, st.TIMED_OUT):
            fields["failure_reason"] = reason
        for index, (name, value) in enumerate(fields.items()):
            names[f"#f{index}"] = name
            values[f":f{index}"] = to_attribute(value)
            sets.append(f"#f{index} = :f{index}")
        allowed = []
        for index, source in enumerate(sources):
            values[f":s{index}"] = {"S": source}
            allowed.append(f":s{index}")
        try:
            result = self._client.update_item(
                TableName=self._table,
                Key=_key(project_pk(project_id), training_sk(job_id)),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"attribute_exists(pk) AND #status IN ({', '.join(allowed)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old = getattr(exc, "response", {}).get("Item")
                if not old:
                    raise NotFoundError(f"No training job with id '{job_id}' in this project") from exc
                current = from_item(old).get("status")
                raise ConflictError(f"Training job {job_id} is {current}; it cannot become {target}") from exc
            raise_mapped(exc)
        return _strip(result["Attributes"])

    def record_progress(
        self, project_id: str, job_id: str, now: int, progress: int, losses: builtins.list[dict[str, float]]
    ) -> bool:
        """Set progress and append loss points while the job is Pending or Running; False otherwise."""
        values: dict[str, Any] = {
            ":p": {"N": str(progress)},
            ":now": {"N": str(now)},
            ":loss": to_attribute(losses),
            ":empty": {"L": []},
            ":pending": {"S": st.PENDING},
            ":running": {"S": st.RUNNING},
        }
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(project_pk(project_id), training_sk(job_id)),
                UpdateExpression=(
                    "SET progress = :p, updated_at = :now, "
                    "training_loss = list_append(if_not_exists(training_loss, :empty), :loss)"
                ),
                ConditionExpression="#status IN (:pending, :running)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise_mapped(exc)
        return True

    def put_checkpoint(self, project_id: str, job_id: str, checkpoint: dict[str, Any]) -> None:
        values = {
            "pk": project_pk(project_id),
            "sk": checkpoint_sk(job_id, checkpoint["checkpoint"]),
            **checkpoint,
        }
        try:
            self._client.put_item(TableName=self._table, Item=to_item(values))
        except (ClientError, BotoCoreError) as exc:
            raise_mapped(exc)

    def delete(self, project_id: str, job_id: str) -> None:
        """Delete a finished job and its checkpoints (ConflictError while it is still active)."""
        terminal = {f":t{i}": {"S": s} for i, s in enumerate(sorted(st.TERMINAL))}
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=_key(project_pk(project_id), training_sk(job_id)),
                ConditionExpression=f"attribute_exists(pk) AND #status IN ({', '.join(terminal)})",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=terminal,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old = getattr(exc, "response", {}).get("Item")
                if not old:
                    raise NotFoundError(f"No training job with id '{job_id}' in this project") from exc
                current = from_item(old).get("status")
                raise ConflictError(
                    f"Training job {job_id} is {current}; cancel it before deleting it"
                ) from exc
            raise_mapped(exc)
        for checkpoint in self.checkpoints(project_id, job_id):
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key=_key(project_pk(project_id), checkpoint_sk(job_id, int(checkpoint["checkpoint"]))),
                )
            except (ClientError, BotoCoreError) as exc:
                raise_mapped(exc)
