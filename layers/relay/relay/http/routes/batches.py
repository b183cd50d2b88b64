"""`/v1/batches`: OpenAI's Batch API (create, retrieve, list, cancel)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from relay.http.bodies import json_body
from relay.http.security import require_key, services_of
from relay.protocol.batches import (
    Batch,
    BatchError,
    BatchErrors,
    BatchList,
    BatchRequestCounts,
    BatchUsage,
    CreateBatchRequest,
)
from relay.services.batches.models import BatchRecord
from relay.services.keys.models import Principal

router = APIRouter(dependencies=[Depends(require_key)])


def batch_object(record: BatchRecord) -> Batch:
    stamps = record.stamps
    errors = BatchErrors(data=[BatchError(**e) for e in record.errors]) if record.errors else None
    usage = BatchUsage(
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        total_tokens=record.input_tokens + record.output_tokens,
    )
    return Batch(
        id=record.id,
        completion_window=record.completion_window,
        created_at=record.created_at,
        endpoint=record.endpoint,
        input_file_id=record.input_file_id,
        status=record.status,  # type: ignore[arg-type]
        cancelled_at=stamps.get("cancelled_at"),
        cancelling_at=stamps.get("cancelling_at"),
        completed_at=stamps.get("completed_at"),
        error_file_id=record.error_file_id,
        errors=errors,
        expired_at=stamps.get("expired_at"),
        expires_at=record.expires_at,
        failed_at=stamps.get("failed_at"),
        finalizing_at=stamps.get("finalizing_at"),
        in_progress_at=stamps.get("in_progress_at"),
        metadata=record.metadata,
        output_file_id=record.output_file_id,
        request_counts=BatchRequestCounts(
            completed=record.completed, failed=record.failed, total=record.total
        ),
        usage=usage,
    )


@router.post("/v1/batches", response_model=Batch)
async def create_batch(request: Request, principal: Principal = Depends(require_key)) -> Batch:
    body = await json_body(request, CreateBatchRequest, required=True)
    record = await run_in_threadpool(services_of(request).batches.create, principal.key_id, body)
    return batch_object(record)


@router.get("/v1/batches", response_model=BatchList)
async def list_batches(
    request: Request,
    principal: Principal = Depends(require_key),
    after: str | None = None,
    limit: int = Query(20),
) -> BatchList:
    batches, more = await run_in_threadpool(
        lambda: services_of(request).batches.list(principal.key_id, after=after, limit=limit)
    )
    data = [batch_object(b) for b in batches]
    return BatchList(
        data=data, first_id=data[0].id if data else None, last_id=data[-1].id if data else None, has_more=more
    )


@router.get("/v1/batches/{batch_id}", response_model=Batch)
async def retrieve_batch(
    batch_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Batch:
    return batch_object(await run_in_threadpool(services_of(request).batches.get, principal.key_id, batch_id))


@router.post("/v1/batches/{batch_id}/cancel", response_model=Batch)
async def cancel_batch(batch_id: str, request: Request, principal: Principal = Depends(require_key)) -> Batch:
    return batch_object(
        await run_in_threadpool(services_of(request).batches.cancel, principal.key_id, batch_id)
    )
