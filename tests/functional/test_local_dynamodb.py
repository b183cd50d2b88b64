"""The local stack's DynamoDB keeps DynamoDB's guarantee: each UpdateItem is atomic."""

from __future__ import annotations

import os
import threading
import uuid

import boto3
import pytest

pytestmark = pytest.mark.functional

WRITERS = 8
ADDS_EACH = 25


def test_concurrent_adds_on_one_item_all_count(local_stack: object) -> None:
    """Two batch lines recording usage at once once counted as one (moto had no lock)."""
    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    table = f"atomic-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def add() -> None:
        own = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        start.wait()
        try:
            for _ in range(ADDS_EACH):
                own.update_item(
                    TableName=table,
                    Key={"pk": {"S": "row"}},
                    UpdateExpression="ADD tokens :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
        except BaseException as exc:  # reported below
            failures.append(exc)

    writers = [threading.Thread(target=add) for _ in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    try:
        assert failures == []
        item = client.get_item(TableName=table, Key={"pk": {"S": "row"}}, ConsistentRead=True)["Item"]
        assert int(item["tokens"]["N"]) == WRITERS * ADDS_EACH
    finally:
        client.delete_table(TableName=table)
