"""Whisper endpoints: Relay's request contract and OpenAI's five response formats.

Contract (a Hugging Face-style custom inference script): JSON
`{"inputs": <base64 audio>, "parameters": {"language", "prompt", "temperature",
"return_timestamps": true}}`; answer `{"text": str | [str], "language"?, "chunks"?:
[{"timestamp": [start, end], "text"}]}` — the shape of the transformers ASR pipeline
with `return_timestamps=True`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str | None
    segments: tuple[Segment, ...]
    audio_seconds: float | None = None  # from the file's header, when it says

    @property
    def duration(self) -> float:
        """The audio's length; the last timestamp only when the file does not say."""
        if self.audio_seconds is not None:
            return self.audio_seconds
        return self.segments[-1].end if self.segments else 0.0


def whisper_body(
    audio: bytes, *, language: str | None, prompt: str | None, temperature: float | None
) -> dict:
    parameters: dict[str, Any] = {"return_timestamps": True}
    for key, value in (("language", language), ("prompt", prompt), ("temperature", temperature)):
        if value is not None:
            parameters[key] = value
    return {"inputs": base64.b64encode(audio).decode(), "parameters": parameters}


def parse_whisper(answer: Any, audio_seconds: float | None = None) -> Transcript:
    """The pipeline's answer; an open end (`None`, the last chunk's) ends with the audio."""
    text = answer["text"]
    if isinstance(text, list):
        text = " ".join(str(t) for t in text)
    segments = []
    for chunk in answer.get("chunks") or []:
        start, end = chunk["timestamp"]
        start = float(start)
        if end is None:
            end = max(audio_seconds, start) if audio_seconds is not None else start
        segments.append(Segment(start, float(end), str(chunk["text"]).strip()))
    language = answer.get("language") or None
    return Transcript(str(text).strip(), language, tuple(segments), audio_seconds)


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(transcript: Transcript) -> str:
    blocks = [
        f"{n}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text}\n"
        for n, s in enumerate(transcript.segments, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = [f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text}\n" for s in transcript.segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_verbose(transcript: Transcript, language: str | None) -> dict[str, Any]:
    verbose: dict[str, Any] = {"task": "transcribe"}
    # Omitted rather than "" when neither the model nor the request named it.
    if transcript.language or language:
        verbose["language"] = transcript.language or language
    return {
        **verbose,
        "duration": transcript.duration,
        "text": transcript.text,
        "segments": [
            {"id": i, "seek": 0, "start": s.start, "end": s.end, "text": s.text}
            for i, s in enumerate(transcript.segments)
        ],
    }
