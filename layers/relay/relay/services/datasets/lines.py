"""Split a byte stream into numbered lines while hashing and counting it, in bounded memory."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

# One row longer than this is an error, not a reason to hold gigabytes in memory.
MAX_LINE_BYTES = 16 * 1024 * 1024


class LineTooLong:
    """Marker yielded instead of the content of a line longer than MAX_LINE_BYTES."""


TOO_LONG = LineTooLong()


class HashingLines:
    """Iterate `(line_number, bytes | TOO_LONG)`; `sha256` and `size` are final once exhausted.

    Lines end at `\\n`; a trailing `\\r` is kept (the decoder strips it). A last line without
    a newline is still a line; an empty input has none.
    """

    def __init__(self, chunks: Iterable[bytes], max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._chunks = iter(chunks)
        self._max = max_line_bytes
        self._hash = hashlib.sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def drain(self) -> None:
        """Hash and count what is left unread (after a reader stopped early)."""
        for chunk in self._chunks:
            self._hash.update(chunk)
            self.size += len(chunk)

    def __iter__(self) -> Iterator[tuple[int, bytes | LineTooLong]]:
        buffer = bytearray()
        too_long = False
        number = 0
        for chunk in self._chunks:
            self._hash.update(chunk)
            self.size += len(chunk)
            start = 0
            while True:
                end = chunk.find(b"\n", start)
                piece = chunk[start:] if end < 0 else chunk[start:end]
                if not too_long:
                    if len(buffer) + len(piece) > self._max:
                        too_long = True
                        buffer.clear()
                    else:
                        buffer += piece
                if end < 0:
                    break
                number += 1
                yield number, TOO_LONG if too_long else bytes(buffer)
                buffer.clear()
                too_long = False
                start = end + 1
        if buffer or too_long:
            yield number + 1, TOO_LONG if too_long else bytes(buffer)


def decode_line(raw: bytes, number: int) -> str:
    """UTF-8 text of one line without its line ending (and without a BOM on line 1).

    Raises ValueError with a message fit for the client when the bytes are not UTF-8.
    """
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})") from None
