"""`/v1/files`: OpenAI's Files API (multipart upload, list, retrieve, content, delete).

Files larger than a Lambda payload carries go straight to S3 (Relay's extension, like datasets):
1. `POST /v1/files/uploads` with `{"filename", "purpose", "bytes", "sha256"}` -> 201 with the
   file id and an S3 POST (`upload.url`, `upload.fields`) pinned to that size and SHA-256.
2. POST the form fields, then the file as the last part named `file`, to `upload.url`.
3. `POST /v1/files/uploads/{file_id}/complete` -> the FileObject, now listed.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response, StreamingResponse

from relay.errors import BadRequestError, PayloadTooLargeError
from relay.http.bodies import json_body
from relay.http.security import require_key, services_of
from relay.protocol.files import (
    MAX_EXPIRES_AFTER,
    MIN_EXPIRES_AFTER,
    CreateFileUploadRequest,
    FileDeleted,
    FileList,
    FileObject,
    FileUpload,
    FileUploadTarget,
)
from relay.services.files.models import StoredFile
from relay.services.keys.models import Principal

router = APIRouter(dependencies=[Depends(require_key)])
_FORM_FIELDS = {"file", "purpose", "expires_after[anchor]", "expires_after[seconds]"}


def file_object(record: StoredFile) -> FileObject:
    return FileObject(
        id=record.id,
        bytes=record.bytes,
        created_at=record.created_at,
        filename=record.filename,
        purpose=record.purpose,  # type: ignore[arg-type]
        expires_at=record.expires_at,
    )


def _expires_after(anchor: object, seconds: object) -> int | None:
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise BadRequestError("expires_after[anchor] must be created_at", param="expires_after.anchor")
    if not isinstance(seconds, str) or not seconds.isdigit():
        raise BadRequestError("expires_after[seconds] must be a whole number", param="expires_after.seconds")
    value = int(seconds)
    if not MIN_EXPIRES_AFTER <= value <= MAX_EXPIRES_AFTER:
        raise BadRequestError(
            f"expires_after[seconds] must be between {MIN_EXPIRES_AFTER} and {MAX_EXPIRES_AFTER}",
            param="expires_after.seconds",
        )
    return value


@router.post("/v1/files", response_model=FileObject)
async def create_file(request: Request, principal: Principal = Depends(require_key)) -> FileObject:
    services = services_of(request)
    settings = services.settings
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise BadRequestError("Send the file as multipart/form-data with 'file' and 'purpose'", param="file")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.dataset_multipart_body_max_bytes:
        raise PayloadTooLargeError(
            f"Files over {settings.dataset_inline_max_bytes} bytes go through POST /v1/files/uploads",
            param="file",
        )
    try:
        form = await request.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
    except HTTPException as exc:
        raise BadRequestError(f"Malformed multipart body: {exc.detail}", param="file") from None
    unknown = sorted(set(form.keys()) - _FORM_FIELDS)
    if unknown:
        raise BadRequestError(f"Unknown form field {unknown[0]!r}", param=unknown[0])
    upload, purpose = form.get("file"), form.get("purpose")
    if not isinstance(upload, UploadFile):
        raise BadRequestError("The form needs a 'file' part", param="file")
    if not isinstance(purpose, str):
        raise BadRequestError("The form needs a 'purpose' field", param="purpose")
    expires_after = _expires_after(form.get("expires_after[anchor]"), form.get("expires_after[seconds]"))
    try:
        content = await upload.read(settings.dataset_inline_max_bytes + 1)
    finally:
        await upload.close()
    record = await run_in_threadpool(
        lambda: services.files.create(
            principal.key_id,
            filename=upload.filename,
            purpose=purpose,
            content=content,
            expires_after=expires_after,
        )
    )
    return file_object(record)


@router.get("/v1/files", response_model=FileList)
async def list_files(
    request: Request,
    principal: Principal = Depends(require_key),
    after: str | None = None,
    limit: int = Query(10_000),
    order: str = "desc",
    purpose: str | None = None,
) -> FileList:
    files, more = await run_in_threadpool(
        lambda: services_of(request).files.list(
            principal.key_id, after=after, limit=limit, order=order, purpose=purpose
        )
    )
    data = [file_object(f) for f in files]
    return FileList(
        data=data, first_id=data[0].id if data else None, last_id=data[-1].id if data else None, has_more=more
    )


@router.post("/v1/files/uploads", status_code=201, response_model=FileUpload)
async def start_file_upload(request: Request, principal: Principal = Depends(require_key)) -> FileUpload:
    body = await json_body(request, CreateFileUploadRequest, required=True)
    file_id, post = await run_in_threadpool(
        lambda: services_of(request).files.start_upload(
            principal.key_id,
            filename=body.filename,
            purpose=body.purpose,
            size=body.bytes,
            sha256=body.sha256,
            expires_after=body.expires_after.seconds if body.expires_after else None,
        )
    )
    return FileUpload(
        id=file_id,
        filename=body.filename,
        purpose=body.purpose,
        bytes=body.bytes,
        upload=FileUploadTarget(url=post.url, fields=post.fields, expires_at=post.expires_at),
        complete_url=f"/v1/files/uploads/{file_id}/complete",
    )


@router.post("/v1/files/uploads/{file_id}/complete", response_model=FileObject)
async def complete_file_upload(
    file_id: str, request: Request, principal: Principal = Depends(require_key)
) -> FileObject:
    record = await run_in_threadpool(services_of(request).files.complete_upload, principal.key_id, file_id)
    return file_object(record)


@router.get("/v1/files/{file_id}", response_model=FileObject)
async def retrieve_file(
    file_id: str, request: Request, principal: Principal = Depends(require_key)
) -> FileObject:
    return file_object(await run_in_threadpool(services_of(request).files.get, principal.key_id, file_id))


@router.get("/v1/files/{file_id}/content")
async def file_content(
    file_id: str, request: Request, principal: Principal = Depends(require_key)
) -> Response:
    found = await run_in_threadpool(services_of(request).files.content, principal.key_id, file_id)
    if isinstance(found, str):
        # Larger than a Lambda response carries; the openai SDK follows redirects.
        return RedirectResponse(found, status_code=302)
    return StreamingResponse(found, media_type="application/octet-stream")


@router.delete("/v1/files/{file_id}", response_model=FileDeleted)
async def delete_file(
    file_id: str, request: Request, principal: Principal = Depends(require_key)
) -> FileDeleted:
    await run_in_threadpool(services_of(request).files.delete, principal.key_id, file_id)
    return FileDeleted(id=file_id)
