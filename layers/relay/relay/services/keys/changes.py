"""A create or PATCH body applied to a key's policy: fields sent replace, `null` resets to the default."""

from __future__ import annotations

from typing import Any

from relay.protocol.keys import CreateKeyRequest, UpdateKeyRequest
from relay.services.keys.policy import KeyPolicy, TokenBudget

_POLICY_FIELDS = (
    "role",
    "allowed_models",
    "rpm_limit",
    "tpm_limit",
    "token_budget",
    "expires_at",
    "metadata",
    "inference_profile_arn",
)
_DEFAULT = KeyPolicy()


def _value(field: str, raw: Any) -> Any:
    if raw is None:
        return getattr(_DEFAULT, field)
    if field == "allowed_models":
        return tuple(raw)
    if field == "token_budget":
        return TokenBudget(limit=raw.limit, period=raw.period)
    if field in ("metadata", "inference_profile_arn"):
        return tuple(sorted(raw.items()))
    return raw


def applied(body: CreateKeyRequest | UpdateKeyRequest, base: KeyPolicy = _DEFAULT) -> KeyPolicy:
    """`base` with every policy field the body sent."""
    sent = body.model_fields_set
    current = {field: getattr(base, field) for field in _POLICY_FIELDS}
    current.update({field: _value(field, getattr(body, field)) for field in _POLICY_FIELDS if field in sent})
    return KeyPolicy(**current)
