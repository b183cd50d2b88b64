"""DynamoDB at the edge: plain values to attribute maps and back, and error codes to domain errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.errors import ConflictError, NotFoundError, RateLimitError, RelayError, ServiceUnavailableError
from relay.observability import logger

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Codes that say "slow down" (429) and "not now" (503). Anything else is a bug or a permissions
# problem: a 500 whose cause, with its traceback, goes to the logs.
_THROTTLED = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
_UNAVAILABLE = frozenset({"InternalServerError", "ServiceUnavailable"})
_CONDITION_FAILED = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_from_dynamo(v) for v in value]
    return value


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """An attribute map for a dict of plain values; None values are left out."""
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in values.items() if v is not None}


def to_attribute(value: Any) -> dict[str, Any]:
    result: dict[str, Any] = _serializer.serialize(_to_dynamo(value))
    return result


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values (ints stay ints) for an attribute map."""
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items()}


def raise_mapped(
    exc: Exception,
    *,
    conflict: str | None = None,
    not_found: str | None = None,
) -> NoReturn:
    """Raise the domain error for a DynamoDB failure, `from exc`; no botocore error escapes.

    A failed condition means `conflict` (409) when given, else `not_found` (404); callers say
    which one their condition expresses. A cancelled transaction is read the same way.
    """
    if isinstance(exc, BotoCoreError):
        raise ServiceUnavailableError("The table could not be reached", retry_after=1) from exc
    if not isinstance(exc, ClientError):
        raise exc
    code = error_code(exc)
    if code in _CONDITION_FAILED:
        error: RelayError
        if conflict is not None:
            error = ConflictError(conflict)
        elif not_found is not None:
            error = NotFoundError(not_found)
        else:
            error = ConflictError("The record was changed by another request; try again")
        raise error from exc
    if code == "TransactionConflictException":
        raise ConflictError("Another request is changing the same records; try again") from exc
    if code in _THROTTLED:
        raise RateLimitError("The table is busy; try again shortly", retry_after=1) from exc
    if code in _UNAVAILABLE:
        raise ServiceUnavailableError("The table is unavailable; try again shortly", retry_after=1) from exc
    logger.error("DynamoDB refused a request", extra={"code": code}, exc_info=exc)
    raise RelayError(f"The table refused the request ({code or 'unknown error'})") from exc


@dataclass(frozen=True)
class ConditionFailed:
    """What DynamoDB tells about a failed condition, for the feature to name its own error."""

    item: dict[str, Any] | None  # the item as it was (ReturnValuesOnConditionCheckFailure=ALL_OLD)
    reasons: list[str]  # per-item codes of a cancelled transaction ('None' for items that passed)


@contextmanager
def dynamodb_errors(
    *,
    conflict: str | None = None,
    not_found: str | None = None,
    on_condition: Callable[[ConditionFailed], RelayError | None] | None = None,
) -> Iterator[None]:
    """Map every botocore error raised inside the block, once, to a domain error.

    `on_condition` may name the error for a failed condition from what DynamoDB returned;
    when it returns None the `conflict` / `not_found` rule of `raise_mapped` applies.
    """
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        if on_condition is not None and error_code(exc) in _CONDITION_FAILED:
            old = (getattr(exc, "response", None) or {}).get("Item")
            error = on_condition(ConditionFailed(from_item(old) if old else None, cancellation_reasons(exc)))
            if error is not None:
                raise error from exc
        raise_mapped(exc, conflict=conflict, not_found=not_found)


def put_new(client: Any, table: str, item: dict[str, Any], *, conflict: str) -> None:
    """PutItem of an item whose key must be new: ConflictError(`conflict`) when it is taken."""
    with dynamodb_errors(conflict=conflict):
        client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")


def cancellation_reasons(exc: Exception) -> list[str]:
    """The per-item codes of a cancelled transaction ('None' for items that passed)."""
    response = getattr(exc, "response", None) or {}
    return [str(reason.get("Code", "None")) for reason in response.get("CancellationReasons", [])]


def query_all(client: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a Query, following pagination."""
    items: list[dict[str, Any]] = []
    while True:
        page = client.query(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
