"""DynamoDB adapter for API keys: items `pk=APIKEY, sk=<id>`, one partition (GetItem, Query).

Policy fields are plain attributes (`role`, `allowed_models`, `rpm_limit`, `tpm_limit`,
`budget_limit`, `budget_period`, `key_expires_at`, `metadata`, `inference_profile_arn`); an
absent attribute is the default. `key_expires_at` is not the table's TTL attribute: an expired
key stays listed (and refused) until the admin revokes it.
"""

from __future__ import annotations

from typing import Any

from relay.backends.dynamodb import dynamodb_errors, from_item, put_new, query_all, to_attribute, to_item
from relay.errors import ConflictError
from relay.services.keys.models import ApiKey
from relay.services.keys.policy import KeyPolicy, TokenBudget
from relay.services.keys.repository import key_not_found
from relay.services.layout import item_key

APIKEY_PK = "APIKEY"


def policy_attributes(policy: KeyPolicy) -> dict[str, Any]:
    """The policy as plain values; None (the default) for what the item leaves out."""
    budget = policy.token_budget
    return {
        "role": policy.role,
        "allowed_models": list(policy.allowed_models) if policy.allowed_models is not None else None,
        "rpm_limit": policy.rpm_limit,
        "tpm_limit": policy.tpm_limit,
        "budget_limit": budget.limit if budget else None,
        "budget_period": budget.period if budget else None,
        "key_expires_at": policy.expires_at,
        "metadata": dict(policy.metadata) or None,
        "inference_profile_arn": dict(policy.inference_profile_arn) or None,
    }


def _policy(values: dict[str, Any]) -> KeyPolicy:
    allowed = values.get("allowed_models")
    budget_limit = values.get("budget_limit")
    return KeyPolicy(
        role="admin" if values.get("role") == "admin" else "member",
        allowed_models=tuple(str(p) for p in allowed) if allowed is not None else None,
        rpm_limit=_int(values.get("rpm_limit")),
        tpm_limit=_int(values.get("tpm_limit")),
        token_budget=TokenBudget(
            int(budget_limit), "month" if values.get("budget_period") == "month" else "day"
        )
        if budget_limit is not None
        else None,
        expires_at=_int(values.get("key_expires_at")),
        metadata=tuple(sorted((str(k), str(v)) for k, v in (values.get("metadata") or {}).items())),
        inference_profile_arn=tuple(
            sorted((str(k), str(v)) for k, v in (values.get("inference_profile_arn") or {}).items())
        ),
    )


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _key(values: dict[str, Any]) -> ApiKey:
    last = values.get("last_used_at")
    return ApiKey(
        id=str(values["sk"]),
        name=str(values.get("name", "")),
        prefix=str(values.get("prefix", "")),
        key_hash=str(values.get("key_hash", "")),
        created_at=int(values.get("created_at", 0)),
        last_used_at=int(last) if last is not None else None,
        policy=_policy(values),
    )


class DynamoDBApiKeyRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, key_id: str) -> ApiKey | None:
        with dynamodb_errors():
            item = self._client.get_item(TableName=self._table, Key=item_key(APIKEY_PK, key_id)).get("Item")
        return _key(from_item(item)) if item else None

    def put(self, key: ApiKey) -> None:
        item = to_item(
            {
                "pk": APIKEY_PK,
                "sk": key.id,
                "name": key.name,
                "prefix": key.prefix,
                "key_hash": key.key_hash,
                "created_at": key.created_at,
                **policy_attributes(key.policy),
            }
        )
        put_new(self._client, self._table, item, conflict=f"API key {key.id} already exists")

    def list(self) -> list[ApiKey]:
        with dynamodb_errors():
            items = query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": APIKEY_PK}},
            )
        found = [_key(from_item(item)) for item in items]
        return sorted(found, key=lambda k: (k.created_at, k.id))

    def delete(self, key_id: str) -> None:
        with dynamodb_errors(not_found=key_not_found(key_id).message):
            self._client.delete_item(
                TableName=self._table,
                Key=item_key(APIKEY_PK, key_id),
                ConditionExpression="attribute_exists(pk)",
            )

    def update(self, key_id: str, name: str, policy: KeyPolicy) -> ApiKey:
        values = {"name": name, **policy_attributes(policy)}
        present = {k: v for k, v in values.items() if v is not None}
        names = {f"#{k}": k for k in values}
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in present)
        absent = [f"#{k}" for k, v in values.items() if v is None]
        if absent:
            expression += " REMOVE " + ", ".join(absent)
        with dynamodb_errors(not_found=key_not_found(key_id).message):
            item = self._client.update_item(
                TableName=self._table,
                Key=item_key(APIKEY_PK, key_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":{k}": to_attribute(v) for k, v in present.items()},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        return _key(from_item(item))

    def touch(self, key_id: str, when: int) -> None:
        try:
            with dynamodb_errors(conflict="gone"):
                self._client.update_item(
                    TableName=self._table,
                    Key=item_key(APIKEY_PK, key_id),
                    UpdateExpression="SET last_used_at = :t",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":t": {"N": str(when)}},
                )
        except ConflictError:
            return  # revoked meanwhile: nothing to record
