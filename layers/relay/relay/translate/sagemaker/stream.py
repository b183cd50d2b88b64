"""Reassemble a container's stream from PayloadPart bytes split at arbitrary boundaries.

SageMaker forwards whatever the container flushed, cut wherever the transport cut it: one
part may hold half an SSE event, half a UTF-8 character, or several events. Containers
stream either server-sent events (`data: {...}` frames, as vLLM, SGLang and TGI do) or
JSON lines (LMI's `jsonlines` output); this decoder accepts both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DONE = "[DONE]"


def address(body: dict[str, Any], model: str | None, *, stream: bool) -> None:
    """The `model` and `stream` fields of a body for an OpenAI-compatible container (chat or
    completions): the client's model id means nothing to the container, so it is replaced by
    the name the container serves, or left out when it has none."""
    body.pop("model", None)
    if model:
        body["model"] = model
    body["stream"] = stream
    if stream:
        # Always ask for usage; it is passed on only when the client asked for it.
        body["stream_options"] = {"include_usage": True}
    else:
        body.pop("stream_options", None)


@dataclass
class StreamDecoder:
    """Feed raw bytes, get back complete event payloads (the text after `data:`, or a JSON line)."""

    _buffer: bytearray = field(default_factory=bytearray)
    _data: list[str] = field(default_factory=list)

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        events: list[str] = []
        # b"\n" never occurs inside a multi-byte UTF-8 sequence, so a complete line is
        # always decodable even when the part boundary fell inside a character.
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                return events
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            self._line(raw.decode("utf-8").rstrip("\r"), events)

    def finish(self) -> list[str]:
        """Flush what is left when the stream ends without a final blank line."""
        events: list[str] = []
        if self._buffer:
            rest = bytes(self._buffer).decode("utf-8", errors="replace").rstrip("\r")
            self._buffer.clear()
            self._line(rest, events)
        if self._data:
            events.append("\n".join(self._data))
            self._data = []
        return events

    def _line(self, line: str, events: list[str]) -> None:
        if line == "":
            if self._data:
                events.append("\n".join(self._data))
                self._data = []
            return
        if line.startswith("data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(" ") else value)
        elif line.startswith("{") and not self._data:
            events.append(line)  # a JSON line: complete on its own
        # Comments (":keep-alive"), `event:`, `id:` and `retry:` carry nothing we use.
