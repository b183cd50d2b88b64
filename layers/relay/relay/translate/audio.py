"""How long an audio file lasts, read from its header (WAV and FLAC), without decoding it.

Whisper behind the transformers pipeline may leave the last chunk's end open (`[12.0,
None]`) when the final timestamp token is missing; the file's own length closes it.
Formats whose length needs the whole stream scanned (MP3, Ogg, M4A) answer None.
"""

from __future__ import annotations

import struct

_STREAMING_SIZE = 0xFFFFFFFF  # a WAV written before its length was known


def _wav_seconds(data: bytes) -> float | None:
    offset, byte_rate = 12, 0
    while offset + 8 <= len(data):
        chunk, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if chunk == b"fmt " and size >= 16 and body + 16 <= len(data):
            byte_rate = struct.unpack_from("<I", data, body + 8)[0]
        elif chunk == b"data":
            if not byte_rate:
                return None
            available = len(data) - body
            return (available if size == _STREAMING_SIZE else min(size, available)) / byte_rate
        offset = body + size + (size & 1)  # chunks are padded to an even length
    return None


def _flac_seconds(data: bytes) -> float | None:
    # The first metadata block is STREAMINFO: 20 bits of sample rate and 36 of total samples.
    if len(data) < 8 + 18 or data[4] & 0x7F != 0:
        return None
    packed = int.from_bytes(data[8 + 10 : 8 + 18], "big")
    rate, samples = packed >> 44, packed & ((1 << 36) - 1)
    return samples / rate if rate and samples else None


def audio_seconds(data: bytes) -> float | None:
    """The audio's length in seconds, or None when the header does not say."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _wav_seconds(data)
    if data[:4] == b"fLaC":
        return _flac_seconds(data)
    return None
