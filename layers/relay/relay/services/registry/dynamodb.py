"""The registry in the app's DynamoDB table: items `pk=MODEL, sk=<name/tag>`.

Structured fields are stored as JSON strings, as they always were, so tables written by
earlier versions read back unchanged. AWS errors become domain errors through the shared
helper in `relay.backends.dynamodb`, which re-raises anything that is not an AWS error.
"""

from __future__ import annotations

import json
from typing import Any

from relay.backends.dynamodb import from_item, query_all, raise_mapped, to_item
from relay.errors import NotFoundError, RelayError, ServiceUnavailableError
from relay.services.registry.models import SageMakerTarget, normalize_model_id
from relay.services.registry.repository import already_registered, not_registered

_PK = "MODEL"
# Reads sit on the request path of every SageMaker model: a busy or unreachable table is
# "try again shortly" for the caller, whichever of the two it was.
_READ_RETRY_AFTER = 2


def _mapped(exc: Exception, **kwargs: str) -> RelayError:
    try:
        raise_mapped(exc, **kwargs)
    except RelayError as mapped:
        return mapped


def _read_failed(exc: Exception) -> ServiceUnavailableError:
    _mapped(exc)  # anything that is not an AWS error is re-raised as it is
    return ServiceUnavailableError("Could not read the model registry", retry_after=_READ_RETRY_AFTER)


def _key(model_id: str) -> dict[str, Any]:
    return {"pk": {"S": _PK}, "sk": {"S": normalize_model_id(model_id)}}


def _to_item(target: SageMakerTarget) -> dict[str, Any]:
    return to_item(
        {
            "pk": _PK,
            "sk": target.id,
            "endpoint_name": target.endpoint_name,
            "flavour": target.flavour,
            "type": target.type,
            "created_at": target.created_at,
            "labels": json.dumps(list(target.labels)),
            "parameter_template": json.dumps(target.parameter_template),
            "metadata": json.dumps(target.metadata),
            # None values are left out of the item.
            "inference_component": target.inference_component or None,
            "deployment_id": target.deployment_id,
            "status": target.status,
        }
    )


def _from_item(item: dict[str, Any]) -> SageMakerTarget:
    values = from_item(item)
    return SageMakerTarget(
        id=values["sk"],
        endpoint_name=values["endpoint_name"],
        flavour=values["flavour"],
        type=values["type"],
        created_at=int(values.get("created_at", 0)),
        inference_component=values.get("inference_component") or None,
        labels=tuple(json.loads(values.get("labels", "[]"))),
        parameter_template=json.loads(values.get("parameter_template", "{}")),
        metadata=json.loads(values.get("metadata", "{}")),
        deployment_id=values.get("deployment_id"),
        status=values.get("status"),
    )


class DynamoDBModelRegistry:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, model_id: str) -> SageMakerTarget | None:
        try:
            item = self._client.get_item(TableName=self._table, Key=_key(model_id)).get("Item")
        except Exception as exc:  # mapped by the shared helper; non-AWS errors pass through
            raise _read_failed(exc) from exc
        return _from_item(item) if item else None

    def list(self) -> list[SageMakerTarget]:
        try:
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": _PK}},
            )
        except Exception as exc:
            raise _read_failed(exc) from exc
        return [_from_item(item) for item in items]

    def put(self, target: SageMakerTarget, *, overwrite: bool = False) -> None:
        kwargs: dict[str, Any] = {"TableName": self._table, "Item": _to_item(target)}
        if not overwrite:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        try:
            self._client.put_item(**kwargs)
        except Exception as exc:
            raise _mapped(exc, conflict=already_registered(target.id)) from exc

    def delete(self, model_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table, Key=_key(model_id), ConditionExpression="attribute_exists(pk)"
            )
        except Exception as exc:
            mapped = _mapped(exc, not_found=model_id)
            raise (not_registered(model_id) if isinstance(mapped, NotFoundError) else mapped) from exc
