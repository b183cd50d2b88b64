"""Registry of SageMaker targets: `name/tag` model ids mapped to endpoints and container flavours."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from botocore.exceptions import ClientError

from relay.backends.dynamodb import query_all
from relay.errors import ConflictError, NotFoundError

Flavour = Literal["openai", "tgi", "tei-embedding", "tei-rerank", "whisper", "classifier"]
DEFAULT_TAG = "dev"
_PK = "MODEL"


def normalize_model_id(model_id: str) -> str:
    """`name` means `name/dev`; `name/tag` stays as it is."""
    return model_id if "/" in model_id else f"{model_id}/{DEFAULT_TAG}"


@dataclass(frozen=True)
class SageMakerTarget:
    id: str
    endpoint_name: str
    flavour: Flavour
    type: str
    created_at: int
    inference_component: str | None = None
    labels: tuple[str, ...] = ()
    parameter_template: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[0]


class ModelRegistryRepository(Protocol):
    def get(self, model_id: str) -> SageMakerTarget | None: ...
    def list(self) -> list[SageMakerTarget]: ...
    def put(self, target: SageMakerTarget, *, overwrite: bool = False) -> None: ...
    def delete(self, model_id: str) -> None: ...


class InMemoryModelRegistry:
    def __init__(self, targets: list[SageMakerTarget] | None = None) -> None:
        self.items = {t.id: t for t in targets or []}

    def get(self, model_id: str) -> SageMakerTarget | None:
        return self.items.get(normalize_model_id(model_id))

    def list(self) -> list[SageMakerTarget]:
        return sorted(self.items.values(), key=lambda t: t.id)

    def put(self, target: SageMakerTarget, *, overwrite: bool = False) -> None:
        if not overwrite and target.id in self.items:
            raise ConflictError(f"Model {target.id} is already registered")
        self.items[target.id] = target

    def delete(self, model_id: str) -> None:
        if self.items.pop(normalize_model_id(model_id), None) is None:
            raise NotFoundError(f"Model {model_id} is not registered", code="model_not_found")


class DynamoDBModelRegistry:
    """Items `pk=MODEL, sk=<name/tag>`."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, model_id: str) -> SageMakerTarget | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _PK}, "sk": {"S": normalize_model_id(model_id)}},
        ).get("Item")
        return _from_item(item) if item else None

    def list(self) -> list[SageMakerTarget]:
        items = query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": _PK}},
        )
        found = [_from_item(item) for item in items]
        return found

    def put(self, target: SageMakerTarget, *, overwrite: bool = False) -> None:
        item: dict[str, Any] = {
            "pk": {"S": _PK},
            "sk": {"S": target.id},
            "endpoint_name": {"S": target.endpoint_name},
            "flavour": {"S": target.flavour},
            "type": {"S": target.type},
            "created_at": {"N": str(target.created_at)},
            "labels": {"S": json.dumps(list(target.labels))},
            "parameter_template": {"S": json.dumps(target.parameter_template)},
            "metadata": {"S": json.dumps(target.metadata)},
        }
        if target.inference_component:
            item["inference_component"] = {"S": target.inference_component}
        kwargs: dict[str, Any] = {"TableName": self._table, "Item": item}
        if not overwrite:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        try:
            self._client.put_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConflictError(f"Model {target.id} is already registered") from exc
            raise

    def delete(self, model_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": {"S": _PK}, "sk": {"S": normalize_model_id(model_id)}},
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotFoundError(f"Model {model_id} is not registered", code="model_not_found") from exc
            raise


def _from_item(item: dict[str, Any]) -> SageMakerTarget:
    component = item.get("inference_component", {}).get("S")
    return SageMakerTarget(
        id=item["sk"]["S"],
        endpoint_name=item["endpoint_name"]["S"],
        flavour=item["flavour"]["S"],
        type=item["type"]["S"],
        created_at=int(item.get("created_at", {}).get("N", "0")),
        inference_component=component or None,
        labels=tuple(json.loads(item.get("labels", {}).get("S", "[]"))),
        parameter_template=json.loads(item.get("parameter_template", {}).get("S", "{}")),
        metadata=json.loads(item.get("metadata", {}).get("S", "{}")),
    )
