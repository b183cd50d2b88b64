"""`POST /v1/audio/transcriptions`: multipart upload, as OpenAI's API takes it."""

from __future__ import annotations

import math
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from relay.errors import BadRequestError
from relay.http.routing import blocking
from relay.http.security import services_of
from relay.services.transcription import RESPONSE_FORMATS
from relay.translate.sagemaker.whisper import to_srt, to_verbose, to_vtt

# Fields OpenAI defines that Whisper endpoints here cannot honour.
_UNSUPPORTED = (
    "timestamp_granularities[]",
    "timestamp_granularities",
    "chunking_strategy",
    "include[]",
    "stream",
)


def _text(form: FormData, name: str, *, required: bool = False) -> str | None:
    value = form.get(name)
    if value is None:
        if required:
            raise BadRequestError(f"{name}: Field required", param=name)
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{name}: Input should be a valid string", param=name)
    return value


def _temperature(form: FormData) -> float | None:
    text = _text(form, "temperature")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequestError("temperature: Input should be a valid number", param="temperature") from None
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise BadRequestError("temperature: Input should be between 0 and 1", param="temperature")
    return value


async def transcribe(request: Request) -> Response:
    service = services_of(request).transcription
    # Refuse an oversized upload from its Content-Length, before the form is parsed.
    length = request.headers.get("content-length", "")
    if length.isdigit():
        service.check_request_size(int(length))
    form = await request.form()
    try:
        return await _transcribe(request, form)
    finally:
        await form.close()


async def _transcribe(request: Request, form: FormData) -> Response:
    upload = form.get("file")
    if upload is None:
        raise BadRequestError("file: Field required", param="file")
    if not isinstance(upload, UploadFile):
        raise BadRequestError("file: Expected an uploaded file", param="file")
    model = _text(form, "model", required=True) or ""
    for name in _UNSUPPORTED:
        value = form.get(name)
        if value not in (None, "", "segment", "false"):
            raise BadRequestError(
                f"{name} is not supported by Whisper endpoints here", param=name.rstrip("[]")
            )
    response_format = _text(form, "response_format") or "json"
    if response_format not in RESPONSE_FORMATS:
        raise BadRequestError(
            f"response_format must be one of {', '.join(RESPONSE_FORMATS)}", param="response_format"
        )
    language = _text(form, "language")
    prompt = _text(form, "prompt")
    temperature = _temperature(form)
    service = services_of(request).transcription
    audio = await upload.read(service.max_audio_bytes + 1)
    transcript = await blocking(
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
