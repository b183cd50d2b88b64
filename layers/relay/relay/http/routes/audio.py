"""`POST /v1/audio/transcriptions`: multipart upload, as OpenAI's API takes it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse, Response

from relay.errors import BadRequestError
from relay.http.security import require_key, services_of
from relay.services.transcription import RESPONSE_FORMATS
from relay.translate.sagemaker.whisper import to_srt, to_verbose, to_vtt

router = APIRouter(dependencies=[Depends(require_key)])
# Fields OpenAI defines that Whisper endpoints here cannot honour.
_UNSUPPORTED = (
    "timestamp_granularities[]",
    "timestamp_granularities",
    "chunking_strategy",
    "include[]",
    "stream",
)


async def _check_length(request: Request) -> None:
    """Refuse an oversized upload from its Content-Length, before the form is parsed."""
    length = request.headers.get("content-length", "")
    if length.isdigit():
        services_of(request).transcription.check_request_size(int(length))


@router.post("/v1/audio/transcriptions", dependencies=[Depends(_check_length)])
async def transcribe(
    request: Request,
    file: UploadFile,
    model: str = Form(...),
    language: str | None = Form(None),
    prompt: str | None = Form(None),
    temperature: float | None = Form(None, ge=0.0, le=1.0),
    response_format: str = Form("json"),
) -> Response:
    form = await request.form()
    for name in _UNSUPPORTED:
        value = form.get(name)
        if value not in (None, "", "segment", "false"):
            raise BadRequestError(
                f"{name} is not supported by Whisper endpoints here", param=name.rstrip("[]")
            )
    if response_format not in RESPONSE_FORMATS:
        raise BadRequestError(
            f"response_format must be one of {', '.join(RESPONSE_FORMATS)}", param="response_format"
        )
    service = services_of(request).transcription
    audio = await file.read(service.max_audio_bytes + 1)
    transcript = await run_in_threadpool(
        service.transcribe,
        model,
        audio,
        language=language,
        prompt=prompt,
        temperature=temperature,
        response_format=response_format,
    )
    if response_format == "text":
        return PlainTextResponse(transcript.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(to_srt(transcript))
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(transcript), media_type="text/vtt")
    body: dict[str, Any] = (
        to_verbose(transcript, language) if response_format == "verbose_json" else {"text": transcript.text}
    )
    return JSONResponse(body)
