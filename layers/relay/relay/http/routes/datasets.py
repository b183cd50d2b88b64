"""`/v1/projects/{project_id}/datasets`: multipart upload, the presigned flow, read, list, delete.

Presigned flow (the spec is silent; Relay's design):
1. `POST .../datasets/uploads` with `{"size", "sha256", "name"?, "filename"?}` -> 201 with a
   pending dataset and an S3 POST (`upload.url`, `upload.fields`) pinned to that size and SHA-256.
2. The client POSTs the form fields, then the file as the last part named `file`, to S3.
3. `POST .../datasets/{dataset_id}/complete` -> verifies and validates the object, 200 with
   the dataset, now `is_uploaded: true`. A file declared larger than
   RELAY_DATASET_SYNC_VERIFY_MAX_BYTES is verified by the pipeline worker instead: 202 with
   the dataset in `status: "verifying"`; GET it until `is_uploaded` or `status: "invalid"`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from relay.errors import BadRequestError
from relay.http.bodies import json_body
from relay.http.security import require_key, services_of
from relay.protocol.control import (
    CreateUploadRequest,
    DatasetDetail,
    DatasetRejection,
    DatasetSummary,
    PresignedUpload,
    UploadResponse,
)
from relay.services.datasets.models import Dataset
from relay.services.keys.models import Principal

router = APIRouter(dependencies=[Depends(require_key)])
_BASE = "/v1/projects/{project_id}/datasets"


def dataset_summary(dataset: Dataset) -> DatasetSummary:
    return DatasetSummary(
        id=dataset.id, name=dataset.name, created_at=dataset.created_at, is_uploaded=dataset.is_uploaded
    )


def dataset_detail(dataset: Dataset, download_url: str | None = None) -> DatasetDetail:
    return DatasetDetail(
        id=dataset.id,
        name=dataset.name,
        is_uploaded=dataset.is_uploaded,
        dataset_download_url=download_url,
        upload_by=dataset.upload_by,
        created_at=dataset.created_at,
        updated_at=dataset.updated_at,
        filename=dataset.filename,
        size=dataset.size,
        sha256=dataset.sha256,
        format=dataset.format,
        num_rows=dataset.num_rows,
        status=dataset.state,
        error=DatasetRejection.model_validate(dataset.error.to_values()) if dataset.error else None,
    )


async def _read_form(request: Request) -> tuple[UploadFile, str | None]:
    uploads = services_of(request).dataset_uploads
    settings = services_of(request).settings
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise BadRequestError(
            "Send the dataset as multipart/form-data with a 'file' part (and an optional 'name')",
            param="file",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.dataset_multipart_body_max_bytes:
        # Refused before reading: the whole body would not fit a Lambda invocation anyway.
        raise uploads.too_large(int(declared))
    try:
        form = await request.form(max_files=1, max_fields=4, max_part_size=64 * 1024)
    except HTTPException as exc:
        raise BadRequestError(f"Malformed multipart body: {exc.detail}", param="file") from None
    upload = form.get("file")
    name = form.get("name")
    if not isinstance(upload, UploadFile):
        raise BadRequestError("The form needs a 'file' part holding the dataset file", param="file")
    if name is not None and not isinstance(name, str):
        raise BadRequestError("'name' must be a text field", param="name")
    return upload, name


@router.post(_BASE, status_code=201, response_model=DatasetDetail, response_model_exclude_none=True)
async def upload_dataset(
    project_id: str, request: Request, principal: Principal = Depends(require_key)
) -> DatasetDetail:
    upload, name = await _read_form(request)
    limit = services_of(request).settings.dataset_inline_max_bytes
    try:
        content = await upload.read(limit + 1)
    finally:
        await upload.close()
    dataset = await run_in_threadpool(
        lambda: services_of(request).dataset_uploads.upload(
            project_id, principal, filename=upload.filename, content=content, name=name
        )
    )
    return dataset_detail(dataset)


@router.get(_BASE, response_model=list[DatasetSummary])
async def list_datasets(
    project_id: str, request: Request, principal: Principal = Depends(require_key)
) -> list[DatasetSummary]:
    datasets = await run_in_threadpool(services_of(request).datasets.list, project_id, principal)
    return [dataset_summary(d) for d in datasets]


@router.post(f"{_BASE}/uploads", status_code=201, response_model=UploadResponse)
async def start_upload(
    project_id: str, request: Request, principal: Principal = Depends(require_key)
) -> UploadResponse:
    body = await json_body(request, CreateUploadRequest, required=True)
    dataset, post = await run_in_threadpool(
        lambda: services_of(request).dataset_uploads.start_upload(
            project_id,
            principal,
            name=body.name,
            filename=body.filename,
            size=body.size,
            sha256=body.sha256,
        )
    )
    return UploadResponse(
        id=dataset.id,
        name=dataset.name,
        created_at=dataset.created_at,
        is_uploaded=False,
        upload=PresignedUpload(url=post.url, fields=post.fields, expires_at=post.expires_at),
        complete_url=f"/v1/projects/{project_id}/datasets/{dataset.id}/complete",
    )


@router.post(
    f"{_BASE}/{{dataset_id}}/complete",
    response_model=DatasetDetail,
    response_model_exclude_none=True,
    responses={202: {"model": DatasetDetail, "description": "Handed to the worker: poll GET"}},
)
async def complete_upload(
    project_id: str,
    dataset_id: str,
    request: Request,
    response: Response,
    principal: Principal = Depends(require_key),
) -> DatasetDetail:
    services = services_of(request)
    dataset = await run_in_threadpool(
        services.dataset_uploads.complete_upload, project_id, dataset_id, principal
    )
    if dataset.state == "verifying":
        response.status_code = 202
    return dataset_detail(dataset, await run_in_threadpool(services.datasets.download_url, dataset))


@router.get(f"{_BASE}/{{dataset_id}}", response_model=DatasetDetail, response_model_exclude_none=True)
async def get_dataset(
    project_id: str, dataset_id: str, request: Request, principal: Principal = Depends(require_key)
) -> DatasetDetail:
    service = services_of(request).datasets
    dataset = await run_in_threadpool(service.get, project_id, dataset_id, principal)
    return dataset_detail(dataset, await run_in_threadpool(service.download_url, dataset))


@router.delete(f"{_BASE}/{{dataset_id}}", status_code=204)
async def delete_dataset(
    project_id: str, dataset_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    await run_in_threadpool(services_of(request).datasets.delete, project_id, dataset_id, principal)
    return Response(status_code=204)
