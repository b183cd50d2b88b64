"""DynamoDB adapter for file records: `pk=FILES#<owner>`, `sk=FILE#<id>`; `expires_at` is the table's TTL."""

from __future__ import annotations

from typing import Any

from relay.backends.dynamodb import dynamodb_errors, from_item, put_new, query_all, to_item
from relay.services.files.models import StoredFile
from relay.services.files.repository import file_not_found

FILES_PK = "FILES#"
FILE_SK = "FILE#"


def _key(owner: str, file_id: str) -> dict[str, Any]:
    return {"pk": {"S": FILES_PK + owner}, "sk": {"S": FILE_SK + file_id}}


def _record(values: dict[str, Any]) -> StoredFile:
    expires = values.get("expires_at")
    return StoredFile(
        id=str(values["id"]),
        owner=str(values["owner"]),
        filename=str(values["filename"]),
        purpose=str(values["purpose"]),
        bytes=int(values["bytes"]),
        created_at=int(values["created_at"]),
        expires_at=int(expires) if expires is not None else None,
        sha256=values.get("sha256"),
    )


class DynamoDBFileRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, owner: str, file_id: str) -> StoredFile | None:
        with dynamodb_errors():
            item = self._client.get_item(TableName=self._table, Key=_key(owner, file_id)).get("Item")
        return _record(from_item(item)) if item else None

    def put(self, record: StoredFile) -> None:
        item = to_item(
            {
                "pk": FILES_PK + record.owner,
                "sk": FILE_SK + record.id,
                "id": record.id,
                "owner": record.owner,
                "filename": record.filename,
                "purpose": record.purpose,
                "bytes": record.bytes,
                "created_at": record.created_at,
                "expires_at": record.expires_at,
                "sha256": record.sha256,
            }
        )
        put_new(self._client, self._table, item, conflict=f"File {record.id} already exists")

    def list(self, owner: str) -> list[StoredFile]:
        with dynamodb_errors():
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
                ExpressionAttributeValues={":pk": {"S": FILES_PK + owner}, ":sk": {"S": FILE_SK}},
            )
        found = [_record(from_item(item)) for item in items]
        return sorted(found, key=lambda f: (f.created_at, f.id), reverse=True)

    def delete(self, owner: str, file_id: str) -> None:
        with dynamodb_errors(not_found=file_not_found(file_id).message):
            self._client.delete_item(
                TableName=self._table, Key=_key(owner, file_id), ConditionExpression="attribute_exists(pk)"
            )
