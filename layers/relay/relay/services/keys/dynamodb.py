"""DynamoDB adapter for API keys: items `pk=APIKEY, sk=<id>`, one partition (GetItem, Query)."""

from __future__ import annotations

from typing import Any

from relay.backends.dynamodb import dynamodb_errors, from_item, query_all, to_item
from relay.errors import ConflictError
from relay.services.keys.models import ApiKey
from relay.services.keys.repository import key_not_found
from relay.services.layout import item_key

APIKEY_PK = "APIKEY"


def _key(values: dict[str, Any]) -> ApiKey:
    last = values.get("last_used_at")
    return ApiKey(
        id=str(values["sk"]),
        name=str(values.get("name", "")),
        prefix=str(values.get("prefix", "")),
        key_hash=str(values.get("key_hash", "")),
        created_at=int(values.get("created_at", 0)),
        last_used_at=int(last) if last is not None else None,
    )


class DynamoDBApiKeyRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, key_id: str) -> ApiKey | None:
        with dynamodb_errors():
            item = self._client.get_item(TableName=self._table, Key=item_key(APIKEY_PK, key_id)).get("Item")
        return _key(from_item(item)) if item else None

    def put(self, key: ApiKey) -> None:
        item = to_item(
            {
                "pk": APIKEY_PK,
                "sk": key.id,
                "name": key.name,
                "prefix": key.prefix,
                "key_hash": key.key_hash,
                "created_at": key.created_at,
            }
        )
        with dynamodb_errors(conflict=f"API key {key.id} already exists"):
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )

    def list(self) -> list[ApiKey]:
        with dynamodb_errors():
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": APIKEY_PK}},
            )
        found = [_key(from_item(item)) for item in items]
        return sorted(found, key=lambda k: (k.created_at, k.id))

    def delete(self, key_id: str) -> None:
        with dynamodb_errors(not_found=key_not_found(key_id).message):
            self._client.delete_item(
                TableName=self._table,
                Key=item_key(APIKEY_PK, key_id),
                ConditionExpression="attribute_exists(pk)",
            )

    def touch(self, key_id: str, when: int) -> None:
        try:
            with dynamodb_errors(conflict="gone"):
                self._client.update_item(
                    TableName=self._table,
                    Key=item_key(APIKEY_PK, key_id),
                    UpdateExpression="SET last_used_at = :t",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":t": {"N": str(when)}},
                )
        except ConflictError:
            return  # revoked meanwhile: nothing to record
