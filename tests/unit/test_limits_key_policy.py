"""Key policies: globs, UTC periods, PATCH semantics, the DynamoDB round trip, and auth
reading role and expiry (an expired key is refused even while its verdict is cached)."""

from __future__ import annotations

import calendar
from typing import Any

import pytest

from relay.errors import AuthenticationError, NotFoundError
from relay.protocol.keys import CreateKeyRequest, UpdateKeyRequest
from relay.services.keys.auth import Authenticator
from relay.services.keys.changes import applied
from relay.services.keys.dynamodb import DynamoDBApiKeyRepository
from relay.services.keys.policy import KeyPolicy, TokenBudget, period_bounds
from relay.services.keys.repository import ApiKeyRepository, InMemoryApiKeyRepository
from relay.services.keys.service import ApiKeyService
from tests.clock import Clock

pytestmark = pytest.mark.unit

PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"


@pytest.fixture(params=["memory", "dynamodb"])
def keys(request: pytest.FixtureRequest) -> ApiKeyRepository:
    if request.param == "memory":
        return InMemoryApiKeyRepository()
    return DynamoDBApiKeyRepository(request.getfixturevalue("moto_table"), "relay")


def test_globs_cover_ids_with_slashes_and_colons_and_none_means_all() -> None:
    policy = KeyPolicy(allowed_models=("anthropic.claude-*", "team/*", "amazon.nova-lite-v1:0"))
    assert policy.allows("anthropic.claude-3-haiku-20240307-v1:0")
    assert policy.allows("team/classifier:v2")
    assert policy.allows("amazon.nova-lite-v1:0")
    assert not policy.allows("amazon.nova-pro-v1:0")
    assert not policy.allows("us.anthropic.claude-3-haiku-20240307-v1:0")  # globs are anchored
    assert KeyPolicy().allows("anything")
    assert not KeyPolicy(allowed_models=()).allows("anything")


def test_periods_are_utc_days_and_months() -> None:
    leap = calendar.timegm((2028, 2, 29, 23, 59, 59))
    assert period_bounds("day", leap) == ("2028-02-29", leap - 86399, leap + 1)
    label, start, end = period_bounds("month", leap)
    assert label == "2028-02"
    assert (start, end) == (calendar.timegm((2028, 2, 1, 0, 0, 0)), calendar.timegm((2028, 3, 1, 0, 0, 0)))
    assert period_bounds("month", calendar.timegm((2026, 12, 15, 0, 0, 0)))[2] == calendar.timegm(
        (2027, 1, 1, 0, 0, 0)
    )


def test_patch_changes_what_it_sends_and_null_resets_to_the_default() -> None:
    base = applied(
        CreateKeyRequest.model_validate(
            {"rpm_limit": 10, "allowed_models": ["a*"], "token_budget": {"limit": 5, "period": "month"}}
        )
    )
    assert (
        base.rpm_limit == 10
        and base.allowed_models == ("a*",)
        and base.token_budget == TokenBudget(5, "month")
    )
    changed = applied(UpdateKeyRequest.model_validate({"rpm_limit": None, "tpm_limit": 99}), base)
    assert changed.rpm_limit is None and changed.tpm_limit == 99
    assert changed.allowed_models == ("a*",) and changed.token_budget == TokenBudget(5, "month")
    assert applied(UpdateKeyRequest.model_validate({"allowed_models": None}), base).allowed_models is None


def test_every_policy_field_survives_storage_and_an_update_removes_cleared_ones(
    keys: ApiKeyRepository,
) -> None:
    service = ApiKeyService(keys, forget=lambda _: None)
    policy = KeyPolicy(
        role="admin",
        allowed_models=("amazon.nova-*",),
        rpm_limit=60,
        tpm_limit=6000,
        token_budget=TokenBudget(100000, "month"),
        expires_at=2_000_000_000,
        metadata=(("team", "search"),),
        inference_profile_arn=(("amazon.nova-lite-v1:0", PROFILE),),
    )
    _, record = service.create("search team", policy)
    stored = keys.get(record.id)
    assert stored is not None and stored.policy == policy and stored.name == "search team"
    assert stored.policy.profile_for("amazon.nova-lite-v1:0") == PROFILE
    updated = service.update(record.id, "renamed", lambda p: KeyPolicy(role="member", rpm_limit=5))
    assert updated.name == "renamed" and updated.policy == KeyPolicy(rpm_limit=5)
    assert keys.get(record.id) == updated
    with pytest.raises(NotFoundError):
        service.update("abcdefabcdef", None, lambda p: p)


def test_auth_reads_the_role_and_refuses_an_expired_key_even_while_cached() -> None:
    repository = InMemoryApiKeyRepository()
    wall = Clock(1_900_000_000)
    auth = Authenticator(lambda: "admin-secret", repository, ttl=60, wall_clock=wall)
    service = ApiKeyService(repository, forget=auth.forget)
    boss_key, boss = service.create("boss", KeyPolicy(role="admin"))
    temp_key, temp = service.create("temp", KeyPolicy(expires_at=int(wall.now) + 30))
    assert auth.authenticate(boss_key).is_admin and auth.authenticate(boss_key).key_id == boss.id
    member = auth.authenticate(temp_key)
    assert (
        not member.is_admin
        and member.policy is not None
        and member.policy.expires_at == temp.policy.expires_at
    )
    wall.now += 30  # the verdict is still cached (TTL 60 s), but the key has expired
    assert auth.cached(temp_key) is None
    with pytest.raises(AuthenticationError):
        auth.authenticate(temp_key)


def test_a_patch_reaches_this_instances_auth_at_once() -> None:
    repository = InMemoryApiKeyRepository()
    auth = Authenticator(lambda: "admin-secret", repository, ttl=60)
    service = ApiKeyService(repository, forget=auth.forget)
    plaintext, record = service.create("team")
    before: Any = auth.authenticate(plaintext).policy
    assert before.rpm_limit is None
    service.update(record.id, None, lambda p: KeyPolicy(rpm_limit=7, allowed_models=("x",)))
    after: Any = auth.authenticate(plaintext).policy
    assert after.rpm_limit == 7 and not after.allows("y")
