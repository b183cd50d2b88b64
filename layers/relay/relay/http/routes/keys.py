"""`/v1/keys` (admin key only): create an API key (plaintext shown once), list, revoke, and
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
from relay.protocol.control import ApiKeyObject, CreatedApiKey, CreateKeyRequest, RotatedAdminKey
from relay.services.keys.models import ApiKey

router = APIRouter(dependencies=[Depends(require_admin)])


def _view(key: ApiKey) -> ApiKeyObject:
    return ApiKeyObject(
        id=key.id, name=key.name, prefix=key.prefix, created_at=key.created_at, last_used_at=key.last_used_at
    )


@router.post("/v1/keys", status_code=201, response_model=CreatedApiKey)
async def create_key(request: Request) -> CreatedApiKey:
    body = await json_body(request, CreateKeyRequest, required=False)
    plaintext, record = await run_in_threadpool(services_of(request).keys.create, body.name)
    return CreatedApiKey(**_view(record).model_dump(), key=plaintext)


@router.get("/v1/keys", response_model=list[ApiKeyObject])
async def list_keys(request: Request) -> list[ApiKeyObject]:
    keys = await run_in_threadpool(services_of(request).keys.list)
    return [_view(k) for k in keys]


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
