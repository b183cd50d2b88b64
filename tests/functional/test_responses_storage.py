"""The stored-response DynamoDB adapter on moto: items, the TTL attribute, large bodies in S3."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from relay.services.responses.dynamodb import MAX_INLINE_BYTES, DynamoDBResponseRepository, object_key
from relay.services.responses.models import StoredResponse

pytestmark = pytest.mark.functional


def stored(response_id: str, *, text: str = "hi", expires_at: int = 4_000_000_000) -> StoredResponse:
    output = [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}]
    return StoredResponse(
        id=response_id,
        owner="key-a",
        created_at=1,
        expires_at=expires_at,
        response={"id": response_id, "object": "response", "output": output},
        input_items=[{"type": "message", "role": "user", "content": "q", "id": "msg_1"}],
        conversation=[{"type": "message", "role": "user", "content": "earlier"}],
        output=[{"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "e30="}, *output],
    )


@pytest.fixture()
def repository(services: Any) -> DynamoDBResponseRepository:
    from relay.backends import aws

    return DynamoDBResponseRepository(
        aws.client("dynamodb"), services.settings.table_name, services.object_store
    )


def _raw_item(services: Any, response_id: str) -> dict[str, Any]:
    from relay.backends import aws

    key = {"pk": {"S": f"RESPONSE#{response_id}"}, "sk": {"S": "RESPONSE"}}
    return aws.client("dynamodb").get_item(TableName=services.settings.table_name, Key=key).get("Item", {})


def test_put_get_delete_round_trip(repository: DynamoDBResponseRepository, services: Any) -> None:
    response_id = f"resp_{uuid.uuid4().hex}"
    repository.put(stored(response_id))
    item = _raw_item(services, response_id)
    # `expires_at` is the table's TTL attribute (template.yaml TimeToLiveSpecification).
    assert item["expires_at"] == {"N": "4000000000"} and item["owner"] == {"S": "key-a"}
    assert repository.get(response_id) == stored(response_id)
    repository.delete(response_id)
    assert repository.get(response_id) is None


def test_large_bodies_live_in_s3_and_go_with_the_item(
    repository: DynamoDBResponseRepository, services: Any
) -> None:
    response_id = f"resp_{uuid.uuid4().hex}"
    big = stored(response_id, text="x" * (MAX_INLINE_BYTES + 10))
    repository.put(big)
    item = _raw_item(services, response_id)
    assert "body" not in item and item["body_key"] == {"S": object_key(response_id)}
    assert services.object_store.head(object_key(response_id)) is not None
    assert repository.get(response_id) == big
    repository.delete(response_id)
    assert services.object_store.head(object_key(response_id)) is None


def test_an_expired_item_reads_as_gone_before_ttl_removes_it(
    repository: DynamoDBResponseRepository, services: Any
) -> None:
    response_id = f"resp_{uuid.uuid4().hex}"
    repository.put(stored(response_id, expires_at=10))
    assert _raw_item(services, response_id)  # DynamoDB's TTL deletes lazily
    assert repository.get(response_id) is None
