"""Audio transcription on registered Whisper endpoints.

The audio route imports this module for its constants at cold start; the Whisper translators,
the SageMaker adapter and the resolver are imported by the service when it is used.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from relay.errors import BadRequestError, PayloadTooLargeError, UpstreamError
from relay.settings import AUDIO_FORM_FRAMING_BYTES
from relay.targets import SageMakerTarget

if TYPE_CHECKING:
    from relay.backends.sagemaker.runtime import SageMakerRuntime
    from relay.services.resolver import ModelResolver
    from relay.translate.sagemaker.whisper import Transcript

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
TIMED_FORMATS = ("srt", "vtt", "verbose_json")
# Room in the multipart body for the form's other fields and boundaries (see settings).
FORM_ALLOWANCE = AUDIO_FORM_FRAMING_BYTES


class TranscriptionService:
    def __init__(self, resolver: ModelResolver, sagemaker: SageMakerRuntime, *, max_audio_bytes: int) -> None:
        self._resolver = resolver
        self._sagemaker = sagemaker
        self.max_audio_bytes = max_audio_bytes

    def check_size(self, size: int) -> None:
        if size > self.max_audio_bytes:
            raise PayloadTooLargeError(
                f"The audio file is {size} bytes; at most {self.max_audio_bytes} bytes fit through "
                "API Gateway and Lambda (6 MB payload, base64-encoded). Split or compress the audio.",
                param="file",
            )

    def check_request_size(self, content_length: int) -> None:
        # Only the whole form's size is known before reading it, so say that, not a guess
        # at the file's own size.
        if content_length > self.max_audio_bytes + FORM_ALLOWANCE:
            raise PayloadTooLargeError(
                f"The upload is {content_length} bytes; audio files can be at most "
                f"{self.max_audio_bytes} bytes to fit through API Gateway and Lambda (6 MB payload, "
                "base64-encoded). Split or compress the audio.",
                param="file",
            )

    def transcribe(
        self,
        model: str,
        audio: bytes,
        *,
        language: str | None,
        prompt: str | None,
        temperature: float | None,
        response_format: str,
    ) -> Transcript:
        """Blocking."""
        from relay.translate.audio import audio_seconds
        from relay.translate.sagemaker.whisper import parse_whisper, whisper_body

        if not audio:
            raise BadRequestError("file: the audio file is empty", param="file")
        self.check_size(len(audio))
        target = self._resolver.resolve(model, types=("transcription",), route="/v1/audio/transcriptions")
        if not isinstance(target, SageMakerTarget):
            raise BadRequestError(
                "Transcription runs on registered SageMaker Whisper endpoints", param="model"
            )
        body = whisper_body(audio, language=language, prompt=prompt, temperature=temperature)
        answer = self._sagemaker.invoke(target, json.dumps(body).encode())
        try:
            transcript = parse_whisper(json.loads(answer.body), audio_seconds(audio))
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamError(f"The model {target.id} answered in an unexpected shape") from exc
        if response_format in TIMED_FORMATS and not transcript.segments and transcript.text:
            raise UpstreamError(
                f"The model {target.id} returned no timestamps, which {response_format} needs; use json or text"
            )
        return transcript
