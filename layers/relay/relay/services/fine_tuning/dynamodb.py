"""DynamoDB adapter for fine-tuning records: `pk=FINETUNE#<owner>`, `sk=FTJOB#<ftjob-id>`.

A key's jobs share a partition, so listing them is one Query, as a key's files are.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from relay.backends.dynamodb import dynamodb_errors, from_item, put_new, query_all, to_attribute, to_item
from relay.services.fine_tuning.models import FineTuningRecord, JobError
from relay.services.fine_tuning.repository import check_changes, job_not_found

FINE_TUNING_PK = "FINETUNE#"
JOB_SK = "FTJOB#"


def _key(owner: str, job_id: str) -> dict[str, Any]:
    return {"pk": {"S": FINE_TUNING_PK + owner}, "sk": {"S": JOB_SK + job_id}}


def _record(item: dict[str, Any]) -> FineTuningRecord:
    values = {k: v for k, v in from_item(item).items() if k not in ("pk", "sk")}
    return FineTuningRecord.from_values(values)


class DynamoDBFineTuningRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, record: FineTuningRecord) -> None:
        item = to_item({"pk": FINE_TUNING_PK + record.owner, "sk": JOB_SK + record.id, **record.to_values()})
        put_new(self._client, self._table, item, conflict=f"Fine-tuning job {record.id} already exists")

    def get(self, owner: str, job_id: str) -> FineTuningRecord | None:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table, Key=_key(owner, job_id), ConsistentRead=True
            ).get("Item")
        return _record(item) if item else None

    def list(self, owner: str) -> list[FineTuningRecord]:
        with dynamodb_errors():
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
                ExpressionAttributeValues={":pk": {"S": FINE_TUNING_PK + owner}, ":sk": {"S": JOB_SK}},
                ConsistentRead=True,
            )
        found = [_record(item) for item in items]
        return sorted(found, key=lambda r: (r.created_at, r.id), reverse=True)

    def update(self, owner: str, job_id: str, **changes: Any) -> FineTuningRecord:
        check_changes(changes)
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets = []
        for index, (name, value) in enumerate(changes.items()):
            plain = asdict(value) if isinstance(value, JobError) else value
            names[f"#f{index}"] = name
            values[f":f{index}"] = to_attribute(plain)
            sets.append(f"#f{index} = :f{index}")
        with dynamodb_errors(not_found=job_not_found(job_id).message):
            result = self._client.update_item(
                TableName=self._table,
                Key=_key(owner, job_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        return _record(result["Attributes"])
