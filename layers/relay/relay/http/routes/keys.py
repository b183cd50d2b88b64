"""`/v1/keys` (admin keys only): create an API key with its policy (plaintext shown once), list,
read (with the current period's usage), change (`PATCH`), revoke, and
`POST /v1/keys/admin/rotate`, which replaces the admin key itself.

A revoked key (or the admin key just rotated) stops working at once on the instance that
revoked it and within the auth cache's TTL (`RELAY_AUTH_CACHE_TTL_SECONDS`, 60 s by default)
everywhere else.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from relay.http.bodies import json_body
from relay.http.security import require_admin, services_of
from relay.protocol.control import RotatedAdminKey
from relay.protocol.keys import (
    ApiKeyObject,
    CreatedApiKey,
    CreateKeyRequest,
    KeyUsage,
    TokenBudgetObject,
    UpdateKeyRequest,
)
from relay.services.container import Services
from relay.services.keys.changes import applied
from relay.services.keys.models import ApiKey

router = APIRouter(dependencies=[Depends(require_admin)])


def _view(key: ApiKey, usage: KeyUsage | None = None) -> ApiKeyObject:
    policy = key.policy
    budget = policy.token_budget
    return ApiKeyObject(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        role=policy.role,
        allowed_models=list(policy.allowed_models) if policy.allowed_models is not None else None,
        rpm_limit=policy.rpm_limit,
        tpm_limit=policy.tpm_limit,
        token_budget=TokenBudgetObject(limit=budget.limit, period=budget.period) if budget else None,
        expires_at=policy.expires_at,
        metadata=dict(policy.metadata),
        inference_profile_arn=dict(policy.inference_profile_arn),
        usage=usage,
    )


def _usage(services: Services, key: ApiKey) -> KeyUsage:
    period = key.policy.token_budget.period if key.policy.token_budget else "day"
    start, end, counts = services.usage.in_period(key.id, period)
    return KeyUsage(
        period=period,
        start=start,
        end=end,
        requests=counts.requests,
        input_tokens=counts.input_tokens,
        output_tokens=counts.output_tokens,
        total_tokens=counts.tokens,
    )


@router.post("/v1/keys", status_code=201, response_model=CreatedApiKey)
async def create_key(request: Request) -> CreatedApiKey:
    body = await json_body(request, CreateKeyRequest, required=False)
    plaintext, record = await run_in_threadpool(services_of(request).keys.create, body.name, applied(body))
    return CreatedApiKey(**_view(record).model_dump(), key=plaintext)


@router.get("/v1/keys", response_model=list[ApiKeyObject])
async def list_keys(request: Request) -> list[ApiKeyObject]:
    keys = await run_in_threadpool(services_of(request).keys.list)
    return [_view(k) for k in keys]


@router.get("/v1/keys/{key_id}", response_model=ApiKeyObject)
async def get_key(key_id: str, request: Request) -> ApiKeyObject:
    services = services_of(request)

    def read() -> ApiKeyObject:
        key = services.keys.get(key_id)
        return _view(key, _usage(services, key))

    return await run_in_threadpool(read)


@router.patch("/v1/keys/{key_id}", response_model=ApiKeyObject)
async def update_key(key_id: str, request: Request) -> ApiKeyObject:
    body = await json_body(request, UpdateKeyRequest, required=True)
    name = body.name if "name" in body.model_fields_set else None
    services = services_of(request)
    key = await run_in_threadpool(services.keys.update, key_id, name, lambda base: applied(body, base))
    return _view(key)


@router.delete("/v1/keys/{key_id}", status_code=204)
async def revoke_key(key_id: str, request: Request) -> Response:
    await run_in_threadpool(services_of(request).keys.revoke, key_id)
    return Response(status_code=204)


# Declared before `/v1/keys/{key_id}` would not matter (that one is DELETE only), but kept apart
# from it: `admin` is never a stored key's id (those are 12 characters).
@router.post("/v1/keys/admin/rotate", response_model=RotatedAdminKey)
async def rotate_admin_key(request: Request) -> RotatedAdminKey:
    new_key = await run_in_threadpool(services_of(request).keys.rotate_admin)
    return RotatedAdminKey(key=new_key)
