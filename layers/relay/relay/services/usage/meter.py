"""The usage of one request, gathered where responses are built and written after it ends.

The HTTP layer binds a `RequestMeter` to the request's context; the services that read a
model's `usage` (chat, completions, embeddings) add to it through `count`. The meter is a
plain mutable object, so the copies of the context that thread pools and stream pumps run
in all add to the same one.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, AsyncIterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # the ControlPlane imports the meter but never a chat model
    from relay.protocol.chat import CompletionUsage

ChunkT = TypeVar("ChunkT")


@dataclass
class UsageCounts:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: UsageCounts) -> None:
        """Add `other`'s counters to these."""
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_tokens += other.cached_tokens
        self.cache_write_tokens += other.cache_write_tokens


# One lock for every meter: a meter is touched by its request and, for parallel calls (`n` > 1)
# and stream pumps, by their threads, each for a few additions (a lock per request cost more
# than it ever waited).
_meters_lock = threading.Lock()


@dataclass
class RequestMeter:
    key_id: str
    model: str | None = None
    by_model: dict[str, UsageCounts] = field(default_factory=dict)

    def add_counts(
        self,
        model: str,
        *,
        requests: int = 0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> None:
        with _meters_lock:
            total = self.by_model.get(model)
            if total is None:
                total = self.by_model[model] = UsageCounts()
            total.requests += requests
            total.input_tokens += input_tokens
            total.output_tokens += output_tokens
            total.cached_tokens += cached_tokens
            total.cache_write_tokens += cache_write_tokens

    @property
    def tokens(self) -> int:
        return sum(c.tokens for c in self.by_model.values())


def meter_rows(meter: RequestMeter) -> dict[str, UsageCounts]:
    """The meter's counters per model, the request itself counted once against its model."""
    with _meters_lock:
        rows = {
            model: UsageCounts(
                c.requests, c.input_tokens, c.output_tokens, c.cached_tokens, c.cache_write_tokens
            )
            for model, c in meter.by_model.items()
        }
    if meter.model is not None:
        rows.setdefault(meter.model, UsageCounts()).requests += 1
    return rows


_current: ContextVar[RequestMeter | None] = ContextVar("relay_request_meter", default=None)


def bind(meter: RequestMeter) -> Token[RequestMeter | None]:
    return _current.set(meter)


def unbind(token: Token[RequestMeter | None]) -> None:
    _current.reset(token)


def count_request(model: str) -> None:
    """One request to `model` (its tokens, if any, come through `count_usage`)."""
    meter = _current.get()
    if meter is not None:
        meter.add_counts(model, requests=1)


def count_usage(model: str, usage: CompletionUsage | None) -> None:
    """The tokens a response reported (prompt tokens include cached ones, as OpenAI counts them)."""
    meter = _current.get()
    if meter is None or usage is None:
        return
    details = usage.prompt_tokens_details
    meter.add_counts(
        model,
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        cached_tokens=(details.cached_tokens or 0) if details else 0,
        cache_write_tokens=(details.cache_write_tokens or 0) if details else 0,
    )


def metering() -> bool:
    """Whether this request has a meter (HTTP inference requests do)."""
    return _current.get() is not None


def note_model(model: str) -> None:
    """The model the request called (its one request is counted against it)."""
    meter = _current.get()
    if meter is not None and meter.model is None:
        meter.model = model


def count_tokens(model: str, *, input_tokens: int = 0, output_tokens: int = 0) -> None:
    meter = _current.get()
    if meter is not None and (input_tokens or output_tokens):
        meter.add_counts(model, input_tokens=input_tokens, output_tokens=output_tokens)


async def metered_chunks(
    model: str, chunks: AsyncIterator[ChunkT], *, strip: bool
) -> AsyncGenerator[ChunkT, None]:
    """The stream, counting the usage it reports; with `strip`, usage-only chunks are kept back
    and usage fields cleared (the client did not ask for them)."""
    try:
        async for chunk in chunks:
            usage = getattr(chunk, "usage", None)
            if usage is not None:
                count_usage(model, usage)
                if strip:
                    if not getattr(chunk, "choices", None):
                        continue
                    chunk.usage = None  # type: ignore[attr-defined]
            yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
