"""DynamoDB adapter for usage: items `pk=USAGE#<key-id>, sk=<YYYY-MM-DD>#<model>`, `ADD` counters.

One partition per key, so a member's report is one Query over a date range of its sort key.
Items expire (the table's TTL attribute `expires_at`) a little over a year after their day.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

from relay.backends.dynamodb import dynamodb_errors, from_item, query_all
from relay.services.layout import item_key
from relay.services.usage.meter import UsageCounts
from relay.services.usage.repository import UsageRecord

USAGE_PK_PREFIX = "USAGE#"
_RETENTION_SECONDS = 400 * 86400
_COUNTERS = ("requests", "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens")


def _day_start(date: str) -> int:
    return calendar.timegm(time.strptime(date, "%Y-%m-%d"))


class DynamoDBUsageRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, key_id: str, date: str, model: str, counts: UsageCounts) -> None:
        values = {f":{name}": {"N": str(getattr(counts, name))} for name in _COUNTERS}
        values.update(
            {
                ":key_id": {"S": key_id},
                ":model": {"S": model},
                ":date": {"S": date},
                ":expires_at": {"N": str(_day_start(date) + _RETENTION_SECONDS)},
            }
        )
        adds = ", ".join(f"{name} :{name}" for name in _COUNTERS)
        with dynamodb_errors():
            self._client.update_item(
                TableName=self._table,
                Key=item_key(USAGE_PK_PREFIX + key_id, f"{date}#{model}"),
                UpdateExpression=f"ADD {adds} SET key_id = :key_id, model = :model, #d = :date, "
                "expires_at = :expires_at",
                ExpressionAttributeNames={"#d": "date"},
                ExpressionAttributeValues=values,
            )

    def query(self, key_id: str, start: str, end: str) -> list[UsageRecord]:
        with dynamodb_errors():
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :start AND :end",
                ExpressionAttributeValues={
                    ":pk": {"S": USAGE_PK_PREFIX + key_id},
                    ":start": {"S": f"{start}#"},
                    ":end": {"S": f"{end}#\uffff"},
                },
            )
        records = []
        for item in items:
            values = from_item(item)
            counts = UsageCounts(**{name: int(values.get(name, 0)) for name in _COUNTERS})
            records.append(UsageRecord(key_id, str(values["model"]), str(values["date"]), counts))
        return records
