"""The S3 entry point: a JSONL object under `batch/input/` -> `batch/output/<name>.jsonl`.

The object is read line by line as it streams in, at most `concurrency` lines are in flight,
and results are spooled to local disk (then uploaded in parts), so neither the input nor the
output is ever whole in memory. Results are written as they finish: match them by `custom_id`,
as OpenAI's batch output asks. Lines that did not succeed (any non-2xx, or an error) also go to
`batch/output/<name>.errors.jsonl`, written only when there is one.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

from relay.protocol.batch import BatchResponseLine
from relay.services.datasets.lines import TOO_LONG, HashingLines, decode_line
from relay.services.dispatch.dispatcher import Dispatched, Dispatcher, invalid_line

ENTRY_POINT = "s3"
INPUT_PREFIX = "batch/input/"
OUTPUT_PREFIX = "batch/output/"
# Spooled results stay in memory up to this size, then move to a file in /tmp.
SPOOL_BYTES = 8 * 1024 * 1024


class Chunks(Protocol):
    def chunks(self, key: str) -> Iterator[bytes]: ...


class Uploads(Protocol):
    def upload(self, key: str, body: IO[bytes], *, content_type: str) -> None: ...


@dataclass(frozen=True)
class ObjectBatchResult:
    total: int
    failed: int
    output_key: str
    error_key: str | None


def output_keys(input_key: str) -> tuple[str, str]:
    """(output, errors) keys for an input key: the name keeps its folders, loses `.jsonl`."""
    if not input_key.startswith(INPUT_PREFIX) or input_key == INPUT_PREFIX:
        raise ValueError(f"{input_key!r} is not under {INPUT_PREFIX}")
    name = input_key[len(INPUT_PREFIX) :].removesuffix(".jsonl")
    return f"{OUTPUT_PREFIX}{name}.jsonl", f"{OUTPUT_PREFIX}{name}.errors.jsonl"


def request_lines(chunks: Iterable[bytes]) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text or None, why not) for each non-blank line of a JSONL stream."""
    for number, raw in HashingLines(chunks):
        if raw is TOO_LONG:
            yield number, None, f"line {number} is longer than the line limit"
            continue
        assert isinstance(raw, bytes)
        try:
            text = decode_line(raw, number)
        except ValueError as exc:
            yield number, None, f"line {number}: {exc}"
            continue
        if text.strip():
            yield number, text, ""


async def bounded(
    dispatcher: Dispatcher, lines: Iterable[tuple[int, str | None, str]], concurrency: int, entry_point: str
) -> AsyncIterator[Dispatched]:
    """Each line's result as it finishes, with at most `concurrency` lines in flight.

    The blocking line reader runs on a worker thread a line at a time, so the event loop keeps
    answering lines while the next ones stream in.
    """
    source = iter(lines)
    pending: set[asyncio.Task[Dispatched]] = set()
    exhausted = False

    async def one(text: str | None, why: str) -> Dispatched:
        if text is None:
            return invalid_line(None, why, code="invalid_line")
        return await dispatcher.dispatch(text, entry_point=entry_point)

    while True:
        while not exhausted and len(pending) < concurrency:
            item = await asyncio.to_thread(next, source, None)
            if item is None:
                exhausted = True
                break
            _, text, why = item
            pending.add(asyncio.ensure_future(one(text, why)))
        if not pending:
            return
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            yield task.result()


def _write(spool: IO[bytes], line: BatchResponseLine) -> None:
    spool.write(line.model_dump_json().encode())
    spool.write(b"\n")


class ObjectBatchWorker:
    def __init__(self, dispatcher: Dispatcher, objects: Chunks, uploads: Uploads, concurrency: int) -> None:
        self._dispatcher = dispatcher
        self._objects = objects
        self._uploads = uploads
        self._concurrency = max(1, concurrency)

    async def handle(self, input_key: str) -> ObjectBatchResult:
        output_key, error_key = output_keys(input_key)
        total = failed = 0
        with (
            tempfile.SpooledTemporaryFile(SPOOL_BYTES) as results,
            tempfile.SpooledTemporaryFile(SPOOL_BYTES) as errors,
        ):
            lines = request_lines(self._objects.chunks(input_key))
            async for outcome in bounded(self._dispatcher, lines, self._concurrency, ENTRY_POINT):
                total += 1
                _write(results, outcome.line)
                if not outcome.line.succeeded:
                    failed += 1
                    _write(errors, outcome.line)
            await asyncio.to_thread(self._upload, output_key, results)
            if failed:
                await asyncio.to_thread(self._upload, error_key, errors)
        return ObjectBatchResult(total, failed, output_key, error_key if failed else None)

    def _upload(self, key: str, spool: Any) -> None:
        spool.seek(0)
        self._uploads.upload(key, spool, content_type="application/jsonl")
