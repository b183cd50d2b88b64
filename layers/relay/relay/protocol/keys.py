"""Wire models of `/v1/keys` and `/v1/usage`: key records with their policy, and usage rows.

Numbers are strict (a string or a boolean where an integer belongs is a 400 naming the
field), limits positive. In a PATCH body an explicit `null` clears a field back to its
default; a field left out stays as it is.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from relay.protocol.base import WireModel

# An application inference profile is what carries a team's cost allocation tags.
_PROFILE_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:application-inference-profile/[A-Za-z0-9]+$"
)
_MAX_PATTERNS = 100
_MAX_METADATA = 50


class TokenBudgetObject(WireModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(gt=0, strict=True)
    period: Literal["day", "month"]


class _KeyFields(WireModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = Field(default=None, max_length=256)
    role: Literal["admin", "member"] | None = None
    allowed_models: list[str] | None = Field(default=None, max_length=_MAX_PATTERNS)
    rpm_limit: int | None = Field(default=None, gt=0, strict=True)
    tpm_limit: int | None = Field(default=None, gt=0, strict=True)
    token_budget: TokenBudgetObject | None = None
    expires_at: int | None = Field(default=None, ge=0, strict=True)
    metadata: dict[str, str] | None = Field(default=None, max_length=_MAX_METADATA)
    inference_profile_arn: dict[str, str] | None = Field(default=None, max_length=_MAX_PATTERNS)

    @field_validator("allowed_models")
    @classmethod
    def _patterns(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not p or len(p) > 512 for p in value):
            raise ValueError("each pattern must be a non-empty glob of at most 512 characters")
        return value

    @field_validator("inference_profile_arn")
    @classmethod
    def _profiles(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for model, arn in (value or {}).items():
            if not _PROFILE_ARN.match(arn):
                raise ValueError(
                    f"the profile for '{model[:128]}' is not an application inference profile ARN"
                )
        return value


class CreateKeyRequest(_KeyFields):
    """`POST /v1/keys`: every field optional; `role` defaults to `member`."""


class UpdateKeyRequest(_KeyFields):
    """`PATCH /v1/keys/{id}`: only the fields sent change."""


class KeyUsage(WireModel):
    """The key's usage in the current UTC period (its budget's, else the day)."""

    period: Literal["day", "month"]
    start: int
    end: int
    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int


class ApiKeyObject(WireModel):
    id: str
    object: Literal["api_key"] = "api_key"
    name: str
    prefix: str
    created_at: int
    last_used_at: int | None = None
    # Relay's policy fields
    role: Literal["admin", "member"] = "member"
    allowed_models: list[str] | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    token_budget: TokenBudgetObject | None = None
    expires_at: int | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    inference_profile_arn: dict[str, str] = Field(default_factory=dict)
    usage: KeyUsage | None = None


class CreatedApiKey(ApiKeyObject):
    key: str  # the only time the plaintext is ever returned


class UsageRow(WireModel):
    object: Literal["usage"] = "usage"
    key_id: str | None
    model: str | None
    date: str | None
    requests: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cache_write_tokens: int


class UsageList(WireModel):
    object: Literal["list"] = "list"
    data: list[UsageRow]
