"""DynamoDB at the edge: plain values to attribute maps and back, and error codes to domain errors."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NoReturn

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.errors import ConflictError, NotFoundError, RateLimitError, RelayError, ServiceUnavailableError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Codes that say "try again shortly"; anything not listed here is a bug or a permissions
# problem and is re-raised as it is, so it reaches the logs with its traceback.
_RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


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
    """Raise the domain error for a DynamoDB failure, `from exc`; unknown errors are re-raised.

    A failed condition means `conflict` (409) when given, else `not_found` (404); callers say
    which one their condition expresses. A cancelled transaction is read the same way.
    """
    if isinstance(exc, BotoCoreError):
        raise ServiceUnavailableError("The table could not be reached", retry_after=1) from exc
    if not isinstance(exc, ClientError):
        raise exc
    code = error_code(exc)
    if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
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
    if code in _RETRYABLE:
        raise RateLimitError("The table is busy; try again shortly", retry_after=1) from exc
    raise exc


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
