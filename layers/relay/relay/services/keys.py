"""API keys: generated once, stored as SHA-256 hashes, looked up by the id they embed.

A key reads `sk-relay-<id>-<secret>`. The id lets auth do one GetItem instead of a scan or
an eventually consistent index query; the secret is 256 random bits, so an unsalted
SHA-256 is enough (there is nothing to brute-force as with passwords).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol

from botocore.exceptions import ClientError

from relay.backends.dynamodb import query_all
from relay.errors import NotFoundError

KEY_PREFIX = "sk-relay-"
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_PK = "APIKEY"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    key_hash: str
    created_at: int
    last_used_at: int | None = None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_key(presented: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed Relay key, else None."""
    if not presented.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = presented[len(KEY_PREFIX) :].partition("-")
    if not sep or len(key_id) != 12 or not secret or len(secret) > 128:
        return None
    return key_id, secret


def generate_key(name: str, now: int | None = None) -> tuple[str, ApiKey]:
    """A new key: (the plaintext, shown once; the record to store)."""
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    plaintext = f"{KEY_PREFIX}{key_id}-{secret}"
    record = ApiKey(
        id=key_id,
        name=name,
        prefix=f"{KEY_PREFIX}{key_id}",
        key_hash=hash_secret(secret),
        created_at=int(time.time()) if now is None else now,
    )
    return plaintext, record


class ApiKeyRepository(Protocol):
    def get(self, key_id: str) -> ApiKey | None: ...
    def put(self, key: ApiKey) -> None: ...
    def list(self) -> list[ApiKey]: ...
    def delete(self, key_id: str) -> None: ...
    def touch(self, key_id: str, when: int) -> None: ...


class InMemoryApiKeyRepository:
    def __init__(self) -> None:
        self.items: dict[str, ApiKey] = {}

    def get(self, key_id: str) -> ApiKey | None:
        return self.items.get(key_id)

    def put(self, key: ApiKey) -> None:
        self.items[key.id] = key

    def list(self) -> list[ApiKey]:
        return sorted(self.items.values(), key=lambda k: (k.created_at, k.id))

    def delete(self, key_id: str) -> None:
        if self.items.pop(key_id, None) is None:
            raise NotFoundError(f"API key {key_id} not found")

    def touch(self, key_id: str, when: int) -> None:
        if key_id in self.items:
            self.items[key_id] = replace(self.items[key_id], last_used_at=when)


class DynamoDBApiKeyRepository:
    """Items `pk=APIKEY, sk=<id>`: one partition, read with GetItem and listed with Query."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, key_id: str) -> ApiKey | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": {"S": _PK}, "sk": {"S": key_id}}).get(
            "Item"
        )
        return _from_item(item) if item else None

    def put(self, key: ApiKey) -> None:
        item = {
            "pk": {"S": _PK},
            "sk": {"S": key.id},
            "name": {"S": key.name},
            "prefix": {"S": key.prefix},
            "key_hash": {"S": key.key_hash},
            "created_at": {"N": str(key.created_at)},
        }
        self._client.put_item(
            TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )

    def list(self) -> list[ApiKey]:
        items = query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": _PK}},
        )
        found = [_from_item(item) for item in items]
        return sorted(found, key=lambda k: (k.created_at, k.id))

    def delete(self, key_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": {"S": _PK}, "sk": {"S": key_id}},
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotFoundError(f"API key {key_id} not found") from exc
            raise

    def touch(self, key_id: str, when: int) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": _PK}, "sk": {"S": key_id}},
                UpdateExpression="SET last_used_at = :t",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":t": {"N": str(when)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def _from_item(item: dict[str, Any]) -> ApiKey:
    last = item.get("last_used_at", {}).get("N")
    return ApiKey(
        id=item["sk"]["S"],
        name=item.get("name", {}).get("S", ""),
        prefix=item.get("prefix", {}).get("S", ""),
        key_hash=item.get("key_hash", {}).get("S", ""),
        created_at=int(item.get("created_at", {}).get("N", "0")),
        last_used_at=int(last) if last else None,
    )
