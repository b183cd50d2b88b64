"""Deterministic stand-ins for model math: token counts, embeddings, relevance, transcripts.

Embeddings are feature-hashed bags of words and character trigrams, so texts that share
words point the same way (similar texts score a higher cosine), and the same text always
gives the same vector on every run and machine.
"""

from __future__ import annotations

import hashlib
import math
import re

_WORD = re.compile(r"\w+", re.UNICODE)
_VOCABULARY = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "model",
    "cloud",
    "river",
    "signal",
    "stream",
    "token",
    "vector",
    "gateway",
    "lambda",
    "bedrock",
    "sagemaker",
    "audio",
    "speech",
    "music",
    "light",
    "night",
    "morning",
    "coffee",
    "market",
    "engine",
    "harbor",
    "garden",
    "paper",
    "window",
    "yellow",
    "silver",
    "seven",
    "eleven",
    "north",
    "south",
]


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def token_count(text: str) -> int:
    """Roughly what a tokenizer reports: words plus one per 4 characters of long words."""
    return sum(1 + len(w) // 8 for w in words(text)) or (1 if text else 0)


def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.sha256(feature.encode()).digest()
    index = int.from_bytes(digest[:4], "big") % dimensions
    return index, 1.0 if digest[4] & 1 else -1.0


def embed(text: str, dimensions: int, *, salt: str = "", normalize: bool = True) -> list[float]:
    vector = [0.0] * dimensions
    tokens = words(text)
    for word in tokens:
        index, sign = _bucket("w:" + word, dimensions)
        vector[index] += sign * 2.0
        padded = f"#{word}#"
        for i in range(len(padded) - 2):
            index, sign = _bucket("t:" + padded[i : i + 3], dimensions)
            vector[index] += sign * 0.5
    if salt:
        # A small, consistent offset per input type: same text, slightly different vector.
        for i in range(8):
            index, sign = _bucket(f"s:{salt}:{i}", dimensions)
            vector[index] += sign * 0.25
    if not tokens and not salt:
        index, sign = _bucket("empty", dimensions)
        vector[index] = sign
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    if normalize:
        return [v / norm for v in vector]
    # Unnormalised vectors keep a length that grows with the text, as raw model outputs do.
    scale = (1.0 + len(tokens) / 10.0) / norm
    return [v * scale for v in vector]


def int8(vector: list[float]) -> list[int]:
    peak = max((abs(v) for v in vector), default=1.0) or 1.0
    return [round(v / peak * 127) for v in vector]


def uint8(vector: list[float]) -> list[int]:
    return [v + 128 for v in int8(vector)]


def packed_bits(vector: list[float], *, signed: bool) -> list[int]:
    """One bit per dimension (positive = 1), eight to a byte, as Cohere's binary types."""
    out: list[int] = []
    for start in range(0, len(vector), 8):
        byte = 0
        for v in vector[start : start + 8]:
            byte = (byte << 1) | (1 if v > 0 else 0)
        out.append(byte - 128 if signed else byte)
    return out


def relevance(query: str, document: str) -> float:
    """Share of the query's distinct words found in the document, squashed into (0, 1)."""
    wanted = set(words(query))
    if not wanted:
        return 0.0
    found = set(words(document))
    overlap = len(wanted & found) / len(wanted)
    # Ties broken by length so the order is total and shorter matches rank first.
    return round(overlap * 0.98 + 0.01 / (1 + len(found)), 6)


def transcript(audio: bytes, *, seconds_per_segment: float = 2.5) -> list[tuple[float, float, str]]:
    """(start, end, text) segments picked from a fixed vocabulary by a hash of the audio."""
    digest = hashlib.sha256(audio).digest()
    count = max(3, min(48, len(audio) // 400))
    picked = [_VOCABULARY[(digest[i % 32] + i * 7) % len(_VOCABULARY)] for i in range(count)]
    segments: list[tuple[float, float, str]] = []
    for n, start in enumerate(range(0, count, 6)):
        text = " ".join(picked[start : start + 6])
        segments.append((n * seconds_per_segment, (n + 1) * seconds_per_segment, text.capitalize() + "."))
    return segments
