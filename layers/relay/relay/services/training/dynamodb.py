"""DynamoDB adapter for training jobs and their checkpoints (key layout: `relay/services/layout.py`).

Every status change is a conditional write whose condition is the transition table
(`status.sources_of`); a failed condition reads the old item back to name the error.
"""

from __future__ import annotations

import builtins
from dataclasses import asdict
from typing import Any

from relay.backends.dynamodb import (
    ConditionFailed,
    dynamodb_errors,
    from_item,
    query_all,
    to_attribute,
    to_item,
)
from relay.errors import ConflictError, RelayError
from relay.services.layout import (
    CHECKPOINT_SK_PREFIX,
    PROJECT_SK,
    TRAINING_SK_PREFIX,
    checkpoint_sk,
    dataset_sk,
    item_key,
    project_pk,
    training_sk,
)
from relay.services.projects.repository import project_not_found
from relay.services.training import status as st
from relay.services.training.models import Checkpoint, LossPoint, TrainingJob
from relay.services.training.repository import (
    cannot_become,
    dataset_not_uploaded,
    failure_fields,
    history_entry,
    job_not_found,
    still_active,
)

_STATUS = {"#status": "status"}


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_item(item).items() if k not in ("pk", "sk", "gsi1pk", "gsi1sk")}


def _status_condition(
    statuses: tuple[str, ...] | builtins.list[str], prefix: str
) -> tuple[str, dict[str, Any]]:
    values = {f":{prefix}{i}": {"S": s} for i, s in enumerate(statuses)}
    return f"#status IN ({', '.join(values)})", values


class DynamoDBTrainingJobRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, job: TrainingJob) -> None:
        pk = project_pk(job.project_id)
        checks: list[tuple[str | None, dict[str, Any], str]] = [(None, item_key(pk, PROJECT_SK), "active")]
        checks += [(d, item_key(pk, dataset_sk(d)), "uploaded") for d in job.dataset_ids]
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
            "pk": pk,
            "sk": training_sk(job.id),
            "gsi1pk": training_sk(job.id),
            "gsi1sk": pk,
            **job.to_values(),
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

        def failed_check(failed: ConditionFailed) -> RelayError | None:
            for (dataset_id, _, _), reason in zip(checks, failed.reasons, strict=False):
                if reason == "ConditionalCheckFailed":
                    return (
                        project_not_found(job.project_id)
                        if dataset_id is None
                        else dataset_not_uploaded(dataset_id)
                    )
            return None

        with dynamodb_errors(conflict=f"Training job {job.id} already exists", on_condition=failed_check):
            self._client.transact_write_items(TransactItems=items)

    def get(self, project_id: str, job_id: str) -> TrainingJob | None:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table,
                Key=item_key(project_pk(project_id), training_sk(job_id)),
                ConsistentRead=True,
            ).get("Item")
        return TrainingJob.from_values(_strip(item)) if item else None

    def list(self, project_id: str) -> builtins.list[TrainingJob]:
        jobs = [TrainingJob.from_values(v) for v in self._query(project_id, TRAINING_SK_PREFIX)]
        return sorted(jobs, key=lambda j: (j.created_at, j.id))

    def checkpoints(self, project_id: str, job_id: str) -> builtins.list[Checkpoint]:
        found = [
            Checkpoint.from_values(v) for v in self._query(project_id, f"{CHECKPOINT_SK_PREFIX}{job_id}#")
        ]
        return sorted(found, key=lambda c: c.checkpoint)

    def _query(self, project_id: str, prefix: str) -> builtins.list[dict[str, Any]]:
        with dynamodb_errors():
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
                ExpressionAttributeValues={":pk": {"S": project_pk(project_id)}, ":sk": {"S": prefix}},
                ConsistentRead=True,
            )
        return [_strip(item) for item in items]

    def transition(
        self,
        project_id: str,
        job_id: str,
        target: st.TrainingStatus,
        now: int,
        *,
        reason: str | None = None,
        **changes: Any,
    ) -> TrainingJob:
        sources = st.sources_of(target)
        if not sources:
            raise ValueError(f"nothing transitions to {target}")
        extra = failure_fields(target, reason, changes)
        entry = {k: v for k, v in asdict(history_entry(target, now, reason)).items() if v is not None}
        names = dict(_STATUS)
        condition, values = _status_condition(sources, "s")
        values |= {
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
        for index, (name, value) in enumerate(extra.items()):
            names[f"#f{index}"] = name
            values[f":f{index}"] = to_attribute(value)
            sets.append(f"#f{index} = :f{index}")

        def refused(failed: ConditionFailed) -> RelayError:
            if not failed.item:
                return job_not_found(job_id)
            return cannot_become(job_id, str(failed.item.get("status")), target)

        with dynamodb_errors(on_condition=refused):
            result = self._client.update_item(
                TableName=self._table,
                Key=item_key(project_pk(project_id), training_sk(job_id)),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"attribute_exists(pk) AND {condition}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        return TrainingJob.from_values(_strip(result["Attributes"]))

    def record_progress(
        self, project_id: str, job_id: str, now: int, progress: int, losses: builtins.list[LossPoint]
    ) -> bool:
        condition, values = _status_condition(st.PROGRESSING, "p")
        values |= {
            ":progress": {"N": str(progress)},
            ":now": {"N": str(now)},
            ":loss": to_attribute([asdict(point) for point in losses]),
            ":empty": {"L": []},
        }
        try:
            with dynamodb_errors(conflict="no longer progressing"):
                self._client.update_item(
                    TableName=self._table,
                    Key=item_key(project_pk(project_id), training_sk(job_id)),
                    UpdateExpression=(
                        "SET progress = :progress, updated_at = :now, "
                        "training_loss = list_append(if_not_exists(training_loss, :empty), :loss)"
                    ),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=_STATUS,
                    ExpressionAttributeValues=values,
                )
        except ConflictError:
            return False
        return True

    def put_checkpoint(self, project_id: str, job_id: str, checkpoint: Checkpoint) -> None:
        values = {
            "pk": project_pk(project_id),
            "sk": checkpoint_sk(job_id, checkpoint.checkpoint),
            **checkpoint.to_values(),
        }
        with dynamodb_errors():
            self._client.put_item(TableName=self._table, Item=to_item(values))

    def delete(self, project_id: str, job_id: str) -> None:
        condition, values = _status_condition(sorted(st.TERMINAL), "t")

        def refused(failed: ConditionFailed) -> RelayError:
            if not failed.item:
                return job_not_found(job_id)
            return still_active(job_id, str(failed.item.get("status")))

        with dynamodb_errors(on_condition=refused):
            self._client.delete_item(
                TableName=self._table,
                Key=item_key(project_pk(project_id), training_sk(job_id)),
                ConditionExpression=f"attribute_exists(pk) AND {condition}",
                ExpressionAttributeNames=_STATUS,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        for checkpoint in self.checkpoints(project_id, job_id):
            with dynamodb_errors():
                self._client.delete_item(
                    TableName=self._table,
                    Key=item_key(project_pk(project_id), checkpoint_sk(job_id, checkpoint.checkpoint)),
                )
