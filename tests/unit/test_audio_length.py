"""The audio's length comes from the file's header (WAV, FLAC), or is unknown."""

from __future__ import annotations

import io
import wave

import pytest

from relay.translate.audio import audio_seconds
from relay.translate.sagemaker.whisper import parse_whisper, to_srt, to_verbose

pytestmark = pytest.mark.unit


def _wav(frames: int, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x01\x02\x03\x04" * frames)
    return buffer.getvalue()


def _flac(samples: int, rate: int) -> bytes:
    packed = (rate << 44) | (1 << 41) | (15 << 36) | samples  # 2 channels, 16 bits
    streaminfo = b"\x10\x00\x10\x00" + b"\x00" * 6 + packed.to_bytes(8, "big") + b"\x00" * 16
    return b"fLaC" + b"\x80\x00\x00\x22" + streaminfo


def test_wav_and_flac_lengths_are_read_from_the_header() -> None:
    assert audio_seconds(_wav(44100 * 3, 44100)) == 3.0
    assert audio_seconds(_flac(16000 * 7 // 2, 16000)) == 3.5
    assert audio_seconds(b"ID3\x04" + b"\x00" * 100) is None  # MP3: unknown
    assert audio_seconds(b"RIFF\x00\x00\x00\x00WAVE") is None  # no chunks


def test_open_end_and_unknown_language() -> None:
    answer = {
        "text": "a b",
        "chunks": [{"timestamp": [0.0, 1.0], "text": "a"}, {"timestamp": [1.0, None], "text": "b"}],
    }
    transcript = parse_whisper(answer, 1.75)
    assert to_srt(transcript).rstrip().endswith("00:00:01,000 --> 00:00:01,750\nb")
    verbose = to_verbose(transcript, None)
    assert verbose["duration"] == 1.75 and "language" not in verbose
    assert to_verbose(parse_whisper(answer), "fr")["language"] == "fr"
