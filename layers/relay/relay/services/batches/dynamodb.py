"""DynamoDB adapter for batches: `pk=BATCHES#<owner>`, `sk=BATCH#<id>`.

Counters move by ADD, so the queue workers answering lines at once never lose an update;
`inflight` is a map of model -> lines in flight, which the runner reads to bound each model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relay.backends.dynamodb import dynamodb_errors, from_item, put_new, query_all, to_attribute, to_item
from relay.errors import ConflictError
from relay.services.batches import status as statuses
from relay.services.batches.models import BatchRecord
from relay.services.batches.repository import batch_not_found, wrong_status

BATCHES_PK = "BATCHES#"
BATCH_SK = "BATCH#"
_COUNTERS = ("total", "completed", "failed", "skipped", "sent", "cursor", "input_tokens", "output_tokens")
_OUTCOMES = frozenset({"completed", "failed", "skipped"})


def _key(owner: str, batch_id: str) -> dict[str, Any]:
    return {"pk": {"S": BATCHES_PK + owner}, "sk": {"S": BATCH_SK + batch_id}}


def _record(values: dict[str, Any]) -> BatchRecord:
    return BatchRecord(
        id=str(values["id"]),
        owner=str(values["owner"]),
        endpoint=str(values["endpoint"]),
        input_file_id=str(values["input_file_id"]),
        created_at=int(values["created_at"]),
        expires_at=int(values["batch_expires_at"]),
        status=str(values["status"]),
        completion_window=str(values.get("completion_window", "24h")),
        metadata=values.get("metadata"),
        stamps={k: int(v) for k, v in (values.get("stamps") or {}).items()},
        errors=list(values.get("errors") or []),
        inflight={k: int(v) for k, v in (values.get("inflight") or {}).items()},
        output_file_id=values.get("output_file_id"),
        error_file_id=values.get("error_file_id"),
        **{name: int(values.get(name, 0)) for name in _COUNTERS},
    )


class DynamoDBBatchRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put(self, record: BatchRecord) -> None:
        # `batch_expires_at`, not `expires_at`: the table's TTL attribute would delete the record
        # the moment the completion window ends, taking the expired batch's answer with it.
        values: dict[str, Any] = {
            "pk": BATCHES_PK + record.owner,
            "sk": BATCH_SK + record.id,
            "id": record.id,
            "owner": record.owner,
            "endpoint": record.endpoint,
            "input_file_id": record.input_file_id,
            "created_at": record.created_at,
            "batch_expires_at": record.expires_at,
            "status": record.status,
            "completion_window": record.completion_window,
            "metadata": record.metadata,
            "stamps": record.stamps,
            "errors": record.errors,
            "inflight": record.inflight,
        }
        values.update({name: getattr(record, name) for name in _COUNTERS})
        put_new(self._client, self._table, to_item(values), conflict=f"Batch {record.id} already exists")

    def get(self, owner: str, batch_id: str) -> BatchRecord | None:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table, Key=_key(owner, batch_id), ConsistentRead=True
            ).get("Item")
        return _record(from_item(item)) if item else None

    def list(self, owner: str) -> list[BatchRecord]:
        with dynamodb_errors():
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
                ExpressionAttributeValues={":pk": {"S": BATCHES_PK + owner}, ":sk": {"S": BATCH_SK}},
            )
        found = [_record(from_item(item)) for item in items]
        return sorted(found, key=lambda b: (b.created_at, b.id), reverse=True)

    def transition(self, owner: str, batch_id: str, target: str, when: int, **fields: Any) -> BatchRecord:
        sources = statuses.sources_of(target)
        names = {"#status": "status", "#stamp": statuses.STAMPS[target]}
        values: dict[str, Any] = {":target": to_attribute(target), ":when": to_attribute(when)}
        sets = ["#status = :target", "stamps.#stamp = :when"]
        for n, (name, value) in enumerate(fields.items()):
            names[f"#f{n}"] = name
            values[f":f{n}"] = to_attribute(value)
            sets.append(f"#f{n} = :f{n}")
        for n, source in enumerate(sources):
            values[f":s{n}"] = to_attribute(source)
        condition = (
            "attribute_exists(pk) AND #status IN (" + ", ".join(f":s{n}" for n in range(len(sources))) + ")"
        )
        try:
            with dynamodb_errors(conflict="status"):
                answer = self._client.update_item(
                    TableName=self._table,
                    Key=_key(owner, batch_id),
                    UpdateExpression="SET " + ", ".join(sets),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
        except ConflictError:
            if self.get(owner, batch_id) is None:
                raise batch_not_found(batch_id) from None
            raise wrong_status(batch_id, target) from None
        return _record(from_item(answer["Attributes"]))

    def sent(self, owner: str, batch_id: str, counts: Mapping[str, int], cursor: int) -> None:
        names = {"#cursor": "cursor"}
        values = {":c": to_attribute(cursor), ":sent": to_attribute(sum(counts.values()))}
        adds = ["sent :sent"]
        for n, (model, count) in enumerate(counts.items()):
            names[f"#m{n}"] = model
            values[f":n{n}"] = to_attribute(count)
            adds.append(f"inflight.#m{n} :n{n}")
        with dynamodb_errors(not_found=batch_not_found(batch_id).message):
            self._client.update_item(
                TableName=self._table,
                Key=_key(owner, batch_id),
                UpdateExpression="SET #cursor = :c ADD " + ", ".join(adds),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )

    def answered(
        self, owner: str, batch_id: str, model: str, outcome: str, input_tokens: int, output_tokens: int
    ) -> BatchRecord:
        if outcome not in _OUTCOMES:
            raise ValueError(f"unknown line outcome {outcome!r}")
        with dynamodb_errors(not_found=batch_not_found(batch_id).message):
            answer = self._client.update_item(
                TableName=self._table,
                Key=_key(owner, batch_id),
                UpdateExpression=f"ADD {outcome} :one, inflight.#m :minus, input_tokens :in, output_tokens :out",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#m": model},
                ExpressionAttributeValues={
                    ":one": to_attribute(1),
                    ":minus": to_attribute(-1),
                    ":in": to_attribute(input_tokens),
                    ":out": to_attribute(output_tokens),
                },
                ReturnValues="ALL_NEW",
            )
        return _record(from_item(answer["Attributes"]))
