"""DynamoDB adapter for the counters: one item per key, `pk=LIMIT#<key-id>, sk=COUNTERS`.

Attributes: `w` (minute start), `wreq`, `wtok` (its requests and tokens), `p` (budget period
label), `ptok` (its tokens), `expires_at` (TTL). An admission costs one conditional
`ADD wreq :slots` (`w` and `p` current, room for the slots, every token limit below its
line); the first one of a new minute or period instead resets them with a second write. On a failed condition DynamoDB
returns the item as it was (`ReturnValuesOnConditionCheckFailure`), so no read is needed to
tell a refusal from a rollover.
"""

from __future__ import annotations

from typing import Any

from relay.backends.dynamodb import ConditionFailed, dynamodb_errors, from_item
from relay.errors import RelayError, ServiceUnavailableError
from relay.services.layout import item_key
from relay.services.limits.models import EMPTY, Counters, LimitReachedError, Limits, current, refusal

LIMIT_PK_PREFIX = "LIMIT#"
LIMIT_SK = "COUNTERS"
_ATTEMPTS = 3


class _StaleError(RelayError):
    """A condition failed; `counters` is what the item held."""

    def __init__(self, counters: Counters) -> None:
        super().__init__("counters changed")
        self.counters = counters


def _counters(values: dict[str, Any] | None) -> Counters:
    if not values or "w" not in values:
        return EMPTY
    return Counters(
        window=int(values["w"]),
        requests=int(values.get("wreq", 0)),
        window_tokens=int(values.get("wtok", 0)),
        period=str(values.get("p", "")),
        period_tokens=int(values.get("ptok", 0)),
    )


def _stale(failed: ConditionFailed) -> RelayError:
    return _StaleError(_counters(failed.item))


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class DynamoDBLimitCounters:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _update(self, key_id: str, **kwargs: Any) -> Counters:
        with dynamodb_errors(on_condition=_stale):
            response = self._client.update_item(
                TableName=self._table,
                Key=item_key(LIMIT_PK_PREFIX + key_id, LIMIT_SK),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **kwargs,
            )
        return _counters(from_item(response.get("Attributes", {})))

    def admit(self, key_id: str, limits: Limits) -> Counters:
        for _ in range(_ATTEMPTS):
            try:
                return self._increment(key_id, limits)
            except _StaleError as exc:
                found = exc.counters
            reason = refusal(found, limits)
            if reason is not None:
                raise LimitReachedError(reason, found)
            if current(found, limits):
                continue  # another request moved the counters between our write and its check
            try:
                return self._roll(key_id, limits, found)
            except _StaleError:
                continue  # another instance rolled over first: count against its counters
        raise ServiceUnavailableError("The rate limit counters are busy; try again", retry_after=1)

    def _increment(self, key_id: str, limits: Limits) -> Counters:
        checks = ["w = :w", "p = :p"]
        values = {":w": _n(limits.window), ":p": {"S": limits.period}, ":one": _n(limits.slots)}
        if limits.rpm is not None:  # room for every slot reserved
            checks.append("wreq <= :rpm")
            values[":rpm"] = _n(limits.rpm - limits.slots)
        for name, attribute, limit in (("tpm", "wtok", limits.tpm), ("budget", "ptok", limits.budget)):
            if limit is not None:
                checks.append(f"{attribute} < :{name}")
                values[f":{name}"] = _n(limit)
        return self._update(
            key_id,
            UpdateExpression="ADD wreq :one",
            ConditionExpression=" AND ".join(checks),
            ExpressionAttributeValues=values,
        )

    def _roll(self, key_id: str, limits: Limits, found: Counters) -> Counters:
        values = {
            ":w": _n(limits.window),
            ":p": {"S": limits.period},
            ":one": _n(limits.slots),
            ":zero": _n(0),
            ":exp": _n(limits.expires_at),
        }
        if found is not EMPTY and found.period == limits.period:
            # A new minute in the same period: the period's tokens carry on.
            condition = "p = :p AND w < :w"
            if limits.budget is not None:
                condition += " AND ptok < :budget"
                values[":budget"] = _n(limits.budget)
            expression = "SET w = :w, wreq = :one, wtok = :zero, expires_at = :exp"
        else:
            condition = "attribute_not_exists(w) OR (p <> :p AND w < :w)"
            expression = "SET w = :w, wreq = :one, wtok = :zero, p = :p, ptok = :zero, expires_at = :exp"
        return self._update(
            key_id,
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )

    def add_tokens(self, key_id: str, window: int, period: str, tokens: int) -> Counters | None:
        values = {":w": _n(window), ":p": {"S": period}, ":t": _n(tokens)}
        try:
            return self._update(
                key_id,
                UpdateExpression="ADD wtok :t, ptok :t",
                ConditionExpression="w = :w AND p = :p",
                ExpressionAttributeValues=values,
            )
        except _StaleError:
            pass  # the minute rolled over: the tokens still count toward the period
        del values[":w"]
        try:
            return self._update(
                key_id,
                UpdateExpression="ADD ptok :t",
                ConditionExpression="p = :p",
                ExpressionAttributeValues=values,
            )
        except _StaleError:
            return None  # the period rolled over too: these tokens belonged to the last one
