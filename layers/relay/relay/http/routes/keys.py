"""`/v1/keys` (admin key only): create an API key (plaintext shown once), list, revoke.

A revoked key stops working at once on the instance that revoked it and within the auth
cache's TTL (`RELAY_AUTH_CACHE_TTL_SECONDS`, 60 s by default) everywhere else.
"""

from __future__ import annotations

import re
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from relay.errors import NotFoundError
from relay.http.bodies import json_body
from relay.http.security import require_admin, services_of
from relay.services.control.projects import clean_name
from relay.services.keys import ApiKey, generate_key

router = APIRouter(dependencies=[Depends(require_admin)])
_KEY_ID = re.compile(r"[a-z0-9]{12}")


class CreateKeyRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None


class ApiKeyObject(BaseModel):
    id: str
    object: Literal["api_key"] = "api_key"
    name: str
    prefix: str
    created_at: int
    last_used_at: int | None = None


class CreatedApiKey(ApiKeyObject):
    key: str  # the only time the plaintext is ever returned


def _view(key: ApiKey) -> ApiKeyObject:
    return ApiKeyObject(
        id=key.id, name=key.name, prefix=key.prefix, created_at=key.created_at, last_used_at=key.last_used_at
    )


@router.post("/v1/keys", status_code=201, response_model=CreatedApiKey)
async def create_key(request: Request) -> CreatedApiKey:
    body = await json_body(request, CreateKeyRequest, required=False)
    plaintext, record = generate_key(clean_name(body.name, default=""))
    await run_in_threadpool(services_of(request).api_keys.put, record)
    return CreatedApiKey(**_view(record).model_dump(), key=plaintext)


@router.get("/v1/keys", response_model=list[ApiKeyObject])
async def list_keys(request: Request) -> list[ApiKeyObject]:
    keys = await run_in_threadpool(services_of(request).api_keys.list)
    return [_view(k) for k in keys]


@router.delete("/v1/keys/{key_id}", status_code=204)
async def revoke_key(key_id: str, request: Request) -> Response:
    services = services_of(request)
    if not _KEY_ID.fullmatch(key_id):  # never send DynamoDB a key it would reject as malformed
        raise NotFoundError(f"API key {key_id} not found")
    await run_in_threadpool(services.api_keys.delete, key_id)
    services.authenticator.forget(key_id)
    return Response(status_code=204)
