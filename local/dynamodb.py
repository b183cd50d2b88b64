"""moto's DynamoDB, made atomic per call as DynamoDB is.

DynamoDB applies each UpdateItem, PutItem, DeleteItem and transaction atomically: two
concurrent `ADD n :one` on one item always sum. moto (5.x) reads the item, applies the
expression and stores it with no lock, and its server answers on a thread per request, so two
concurrent ADDs on one item can both read the old value and one of them is lost (two batch
lines recording their usage at the same moment counted once). A query that runs while an item
is added can also iterate a dict that changes size under it.

`install` wraps the backend's table operations in one process-wide lock (in this process only,
never in production code). moto answers in microseconds, so serialising it costs the local
stack nothing it would notice.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

# The operations that read or write items or tables. Reentrant: batch and transaction writes
# call put_item and delete_item.
_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_write_item",
    "batch_get_item",
    "transact_write_items",
    "transact_get_items",
    "execute_statement",
    "create_table",
    "delete_table",
    "update_table",
    "update_time_to_live",
)
_LOCK = threading.RLock()
_MARK = "_relay_serialised"


def _serialised(method: Any) -> Any:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    setattr(call, _MARK, True)
    return call


def install() -> None:
    """Serialise moto's DynamoDB table operations (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _OPERATIONS:
        method = getattr(DynamoDBBackend, name, None)
        if method is None or getattr(method, _MARK, False):
            continue
        setattr(DynamoDBBackend, name, _serialised(method))
