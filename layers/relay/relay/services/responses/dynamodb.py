"""DynamoDB adapter for stored responses: one item per response, large bodies in S3.

Item: pk `RESPONSE#<resp-id>`, sk `RESPONSE`, `owner`, `created_at`, `expires_at` (the
table's TTL attribute), and `body` (the JSON of response, input and conversation) — or,
past `MAX_INLINE_BYTES`, `body_key` naming the object under `responses/` that holds it
(DynamoDB items stop at 400 KB). TTL deletes lazily, so an expired item reads as gone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from relay.backends.dynamodb import dynamodb_errors, from_item, to_item
from relay.backends.s3 import ObjectStore
from relay.services.responses.models import StoredResponse

SK = "RESPONSE"
OBJECT_PREFIX = "responses/"
# Room below DynamoDB's 400 KB item limit for the key and the other attributes.
MAX_INLINE_BYTES = 350_000


def response_pk(response_id: str) -> str:
    return f"RESPONSE#{response_id}"


def object_key(response_id: str) -> str:
    return f"{OBJECT_PREFIX}{response_id}.json"


class DynamoDBResponseRepository:
    def __init__(
        self,
        client: Any,
        table_name: str,
        objects: ObjectStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table_name
        self._objects = objects
        self._clock = clock

    def _key(self, response_id: str) -> dict[str, Any]:
        return to_item({"pk": response_pk(response_id), "sk": SK})

    def put(self, stored: StoredResponse) -> None:
        body = json.dumps(
            {
                "response": stored.response,
                "input_items": stored.input_items,
                "conversation": stored.conversation,
                "output": stored.output,
            },
            separators=(",", ":"),
        )
        values: dict[str, Any] = {
            "pk": response_pk(stored.id),
            "sk": SK,
            "id": stored.id,
            "owner": stored.owner,
            "created_at": stored.created_at,
            "expires_at": stored.expires_at,
        }
        if len(body.encode()) > MAX_INLINE_BYTES:
            self._objects.write(object_key(stored.id), body.encode(), content_type="application/json")
            values["body_key"] = object_key(stored.id)
        else:
            values["body"] = body
        with dynamodb_errors():
            self._client.put_item(TableName=self._table, Item=to_item(values))

    def get(self, response_id: str) -> StoredResponse | None:
        with dynamodb_errors():
            found = self._client.get_item(
                TableName=self._table, Key=self._key(response_id), ConsistentRead=True
            )
        if "Item" not in found:
            return None
        values = from_item(found["Item"])
        if int(values["expires_at"]) <= self._clock():
            return None
        raw = values.get("body")
        if raw is None:
            raw = self._objects.read(values["body_key"]).decode()
        body = json.loads(raw)
        return StoredResponse(
            id=values["id"],
            owner=values["owner"],
            created_at=int(values["created_at"]),
            expires_at=int(values["expires_at"]),
            response=body["response"],
            input_items=body["input_items"],
            conversation=body["conversation"],
            output=body.get("output", []),
        )

    def delete(self, response_id: str) -> None:
        with dynamodb_errors():
            old = self._client.delete_item(
                TableName=self._table, Key=self._key(response_id), ReturnValues="ALL_OLD"
            )
        key = from_item(old.get("Attributes") or {}).get("body_key")
        if key:
            self._objects.delete_prefix(key)
