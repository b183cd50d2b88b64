"""DynamoDB adapters for deployments and engines (key layout in `models.py`), with conditional writes."""

from __future__ import annotations

import builtins
from dataclasses import asdict, fields
from typing import Any

from relay.backends.dynamodb import (
    ConditionFailed,
    dynamodb_errors,
    from_item,
    put_new,
    query_all,
    to_attribute,
    to_item,
)
from relay.errors import NotFoundError, RelayError
from relay.services.deployments import status as st
from relay.services.deployments.models import Deployment, Engine, Schedule
from relay.services.deployments.repository import deployment_not_found, engine_not_found, refused

INDEX = "gsi1"
PROJECT_SK = "PROJECT"
ENGINE_SK = "ENGINE"
ENGINES_GSI_PK = "ENGINES"
DEPLOYMENT_SK_PREFIX = "DEPLOYMENT#"
_DEPLOYMENT_FIELDS = {f.name for f in fields(Deployment)}
_ENGINE_FIELDS = {f.name for f in fields(Engine)}


def _project_pk(project_id: str) -> str:
    return f"PROJECT#{project_id}"


def _engine_pk(engine_id: str) -> str:
    return f"ENGINE#{engine_id}"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _deployment_key(project_id: str, deployment_id: str) -> dict[str, Any]:
    return _key(_project_pk(project_id), DEPLOYMENT_SK_PREFIX + deployment_id)


def _values(record: Deployment | Engine) -> dict[str, Any]:
    values = asdict(record)
    values["schedule"] = record.schedule.as_dict() if record.schedule else None
    return values


def _deployment(values: dict[str, Any]) -> Deployment:
    known = {k: v for k, v in values.items() if k in _DEPLOYMENT_FIELDS}
    known["schedule"] = Schedule.from_dict(known.get("schedule"))
    known["labels"] = tuple(known.get("labels") or ())
    return Deployment(**known)


def _engine(values: dict[str, Any]) -> Engine:
    known = {k: v for k, v in values.items() if k in _ENGINE_FIELDS}
    known["schedule"] = Schedule.from_dict(known.get("schedule"))
    return Engine(**known)


def _sets(now: int, changes: dict[str, Any]) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """SET clauses for `changes` (None removes nothing: it stores NULL, which reads back as None)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {":now": {"N": str(now)}}
    sets = ["updated_at = :now"]
    for index, (name, value) in enumerate(changes.items()):
        if isinstance(value, Schedule):
            value = value.as_dict()
        elif isinstance(value, tuple):
            value = list(value)
        names[f"#f{index}"] = name
        values[f":f{index}"] = to_attribute(value)
        sets.append(f"#f{index} = :f{index}")
    return sets, names, values


class _Table:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _query(self, **kwargs: Any) -> builtins.list[dict[str, Any]]:
        with dynamodb_errors():
            items = query_all(self._client, TableName=self._table, **kwargs)
        return [from_item(item) for item in items]


class DynamoDBDeploymentRepository(_Table):
    def create(self, deployment: Deployment) -> None:
        values = {
            "pk": _project_pk(deployment.project_id),
            "sk": DEPLOYMENT_SK_PREFIX + deployment.id,
            "gsi1pk": _engine_pk(deployment.engine_id),
            "gsi1sk": DEPLOYMENT_SK_PREFIX + deployment.id,
            **_values(deployment),
        }

        def project_gone(failed: ConditionFailed) -> RelayError | None:
            if failed.reasons and failed.reasons[0] == "ConditionalCheckFailed":
                return NotFoundError(f"No project with id '{deployment.project_id}'")
            return None

        # The project check closes the window against a concurrent project delete (layout contract).
        with dynamodb_errors(
            conflict=f"Deployment {deployment.id} already exists", on_condition=project_gone
        ):
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": _key(_project_pk(deployment.project_id), PROJECT_SK),
                            "ConditionExpression": "#state = :active",
                            "ExpressionAttributeNames": {"#state": "state"},
                            "ExpressionAttributeValues": {":active": {"S": "active"}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(values),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )

    def get(self, project_id: str, deployment_id: str) -> Deployment | None:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table, Key=_deployment_key(project_id, deployment_id), ConsistentRead=True
            ).get("Item")
        return _deployment(from_item(item)) if item else None

    def list(self, project_id: str) -> builtins.list[Deployment]:
        found = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={
                ":pk": {"S": _project_pk(project_id)},
                ":sk": {"S": DEPLOYMENT_SK_PREFIX},
            },
            ConsistentRead=True,
        )
        return sorted((_deployment(v) for v in found), key=lambda d: (d.created_at, d.id))

    def on_engine(self, engine_id: str) -> builtins.list[Deployment]:
        found = self._query(
            IndexName=INDEX,
            KeyConditionExpression="gsi1pk = :pk AND begins_with(gsi1sk, :sk)",
            ExpressionAttributeValues={
                ":pk": {"S": _engine_pk(engine_id)},
                ":sk": {"S": DEPLOYMENT_SK_PREFIX},
            },
        )
        return [_deployment(v) for v in found]

    def transition(
        self, project_id: str, deployment_id: str, target: str, now: int, **changes: Any
    ) -> Deployment:
        sources = st.sources_of(target)
        if not sources:
            raise ValueError(f"nothing transitions to {target}")
        sets, names, values = _sets(now, changes)
        names["#status"] = "status"
        values[":to"] = {"S": target}
        sets.insert(0, "#status = :to")
        allowed = []
        for index, source in enumerate(sources):
            values[f":s{index}"] = {"S": source}
            allowed.append(f":s{index}")

        def why(failed: ConditionFailed) -> RelayError:
            if failed.item is None:
                return deployment_not_found(deployment_id)
            return refused(_deployment(failed.item), target)

        with dynamodb_errors(on_condition=why):
            result = self._client.update_item(
                TableName=self._table,
                Key=_deployment_key(project_id, deployment_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"attribute_exists(pk) AND #status IN ({', '.join(allowed)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        return _deployment(from_item(result["Attributes"]))

    def update(self, project_id: str, deployment_id: str, now: int, **changes: Any) -> None:
        sets, names, values = _sets(now, changes)
        with dynamodb_errors(not_found=deployment_not_found(deployment_id).message):
            self._client.update_item(
                TableName=self._table,
                Key=_deployment_key(project_id, deployment_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(pk)",
                **({"ExpressionAttributeNames": names} if names else {}),
                ExpressionAttributeValues=values,
            )

    def discard(self, project_id: str, deployment_id: str) -> None:
        with dynamodb_errors():
            self._client.delete_item(TableName=self._table, Key=_deployment_key(project_id, deployment_id))


class DynamoDBEngineRepository(_Table):
    def create(self, engine: Engine) -> None:
        values = {
            "pk": _engine_pk(engine.id),
            "sk": ENGINE_SK,
            "gsi1pk": ENGINES_GSI_PK,
            "gsi1sk": f"{engine.created_at:010d}#{engine.id}",
            **_values(engine),
        }
        put_new(self._client, self._table, to_item(values), conflict=f"Engine {engine.id} already exists")

    def get(self, engine_id: str) -> Engine | None:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table, Key=_key(_engine_pk(engine_id), ENGINE_SK), ConsistentRead=True
            ).get("Item")
        return _engine(from_item(item)) if item else None

    def list(self) -> builtins.list[Engine]:
        found = self._query(
            IndexName=INDEX,
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": {"S": ENGINES_GSI_PK}},
        )
        return [_engine(v) for v in found]

    def update(self, engine_id: str, now: int, **changes: Any) -> None:
        sets, names, values = _sets(now, changes)
        with dynamodb_errors(not_found=engine_not_found(engine_id).message):
            self._client.update_item(
                TableName=self._table,
                Key=_key(_engine_pk(engine_id), ENGINE_SK),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(pk)",
                **({"ExpressionAttributeNames": names} if names else {}),
                ExpressionAttributeValues=values,
            )

    def begin_delete(self, engine_id: str, now: int) -> Engine:
        with dynamodb_errors(not_found=engine_not_found(engine_id).message):
            result = self._client.update_item(
                TableName=self._table,
                Key=_key(_engine_pk(engine_id), ENGINE_SK),
                UpdateExpression="SET #state = :deleting, updated_at = :now",
                ConditionExpression="attribute_exists(pk) AND #state = :active",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":deleting": {"S": "deleting"},
                    ":active": {"S": "active"},
                    ":now": {"N": str(now)},
                },
                ReturnValues="ALL_NEW",
            )
        return _engine(from_item(result["Attributes"]))

    def remove(self, engine_id: str) -> None:
        with dynamodb_errors():
            self._client.delete_item(TableName=self._table, Key=_key(_engine_pk(engine_id), ENGINE_SK))
