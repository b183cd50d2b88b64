"""The batch function's work: validate the input, feed its lines to the request queue, finalize.

- `validating`: the input file streams through `validation.validate`; a bad file ends the
  batch as `failed` with line-numbered errors before any line runs.
- `in_progress`: lines go to the request queue in file order, at most `concurrency` lines of
  one model in flight (sent, not yet answered: the record's `inflight` map, which the queue
  workers decrement). Throttled lines come back later on their own (`lines.py`), never failed.
- Cancel (`cancelling`) stops the sending; once the lines in flight are answered (or after a
  grace period) what finished is written out and the batch is `cancelled`. Past `expires_at`
  the batch is `expired`, with the results it has.
- The function re-invokes itself before its time runs out, and picks up at the record's
  `cursor` (the byte offset of the next line), so a batch may run for the whole window.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, Protocol

from relay.backends.s3 import ObjectStore
from relay.backends.worker import Worker
from relay.errors import ConflictError
from relay.observability import logger
from relay.services.batches.lines import BATCH_ATTRIBUTE, LINE_ATTRIBUTE, MODEL_ATTRIBUTE, Sender
from relay.services.batches.models import BatchRecord, results_prefix
from relay.services.batches.repository import BatchRepository
from relay.services.batches.service import run_event
from relay.services.batches.validation import InputLine, check_line, numbered_lines, validate
from relay.services.files.models import new_file_id, object_key
from relay.services.files.service import FileService

# Hand over to a fresh invocation when less than this is left of the current one.
CONTINUE_MARGIN_SECONDS = 60.0
# After a cancel, how long answers of lines already queued are awaited before finalizing.
CANCEL_GRACE_SECONDS = 120.0
SPOOL_BYTES = 8 * 1024 * 1024
SEND_BATCH = 10  # SendMessageBatch's limit
READERS = 16
READ_WINDOW = 256


class Queue(Sender, Protocol):
    def send_batch(self, queue_url: str, messages: list[tuple[str, Mapping[str, str]]]) -> None: ...


class Uploads(Protocol):
    def upload(self, key: str, body: IO[bytes], *, content_type: str) -> None: ...


def input_lines(chunks: Iterator[bytes], endpoint: str, cursor: int) -> Iterator[InputLine]:
    """The validated file's request lines that start at or after byte `cursor`."""
    for number, raw, end in numbered_lines(chunks):
        if end <= cursor or raw is None or not raw.strip():
            continue
        parsed, _, _, _ = check_line(number, raw, endpoint)
        if parsed is not None:
            yield InputLine(number, json.dumps(parsed), str(parsed["body"]["model"]), end)


class BatchRunner:
    def __init__(
        self,
        batches: BatchRepository,
        files: FileService,
        objects: ObjectStore,
        uploads: Uploads,
        queues: Queue,
        queue_url: str,
        continuation: Worker | None,
        concurrency: int,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = 0.05,
    ) -> None:
        self._batches = batches
        self._files = files
        self._objects = objects
        self._uploads = uploads
        self._queues = queues
        self._queue_url = queue_url
        self._continuation = continuation
        self._concurrency = max(1, concurrency)
        self._clock = clock
        self._sleep = sleep
        self._poll = poll_seconds

    def _now(self) -> int:
        return int(self._clock())

    def run(self, owner: str, batch_id: str, remaining: Callable[[], float]) -> str:
        """Take the batch as far as this invocation can; returns the status it left it in."""
        record = self._batches.get(owner, batch_id)
        if record is None:
            logger.warning("batch to run is gone", extra={"batch_id": batch_id})
            return "missing"
        if record.status == "validating":
            record = self._validate(record)
        if record.status in ("in_progress", "cancelling"):
            return self._feed(record, remaining)
        return record.status

    def _validate(self, record: BatchRecord) -> BatchRecord:
        source, chunks = self._files.read_lines_source(record.owner, record.input_file_id)
        checked = validate(chunks, record.endpoint, source.bytes)
        try:
            if checked.errors:
                return self._batches.transition(
                    record.owner, record.id, "failed", self._now(), errors=checked.errors, total=checked.lines
                )
            return self._batches.transition(
                record.owner, record.id, "in_progress", self._now(), total=checked.lines
            )
        except ConflictError:  # cancelled while validating
            current = self._batches.get(record.owner, record.id)
            assert current is not None
            return current

    def _feed(self, record: BatchRecord, remaining: Callable[[], float]) -> str:
        _, chunks = self._files.read_lines_source(record.owner, record.input_file_id)
        lines = input_lines(chunks, record.endpoint, record.cursor)
        pending: InputLine | None = None
        exhausted = False
        cancel_seen: float | None = None
        while True:
            current = self._batches.get(record.owner, record.id)
            if current is None:
                return "missing"
            if current.status == "cancelling":
                cancel_seen = cancel_seen if cancel_seen is not None else self._clock()
                if current.drained or self._clock() - cancel_seen > CANCEL_GRACE_SECONDS:
                    return self._finalize(current, "cancelled")
            elif current.status != "in_progress":
                return current.status
            elif self._now() >= current.expires_at:
                return self._finalize(current, "expired")
            else:
                sent: dict[str, int] = {}
                group: list[InputLine] = []
                while not exhausted:
                    pending = pending or next(lines, None)
                    if pending is None:
                        exhausted = True
                        break
                    in_flight = current.inflight.get(pending.model, 0) + sent.get(pending.model, 0)
                    if in_flight >= self._concurrency:
                        break
                    group.append(pending)
                    sent[pending.model] = sent.get(pending.model, 0) + 1
                    pending = None
                    if len(group) == SEND_BATCH:
                        self._send(current, group)
                        group = []
                if group:
                    self._send(current, group)
                if exhausted and not sent:
                    latest = self._batches.get(record.owner, record.id)
                    if latest is not None and latest.status == "in_progress" and latest.drained:
                        return self._finish(latest)
            if remaining() < CONTINUE_MARGIN_SECONDS and self._continuation is not None:
                self._continuation.submit(run_event(record))
                return "continued"
            self._sleep(self._poll)

    def _send(self, record: BatchRecord, group: list[InputLine]) -> None:
        """Up to ten lines in one SendMessageBatch, then counted in flight with one update."""
        messages: list[tuple[str, Mapping[str, str]]] = [
            (
                line.text,
                {
                    BATCH_ATTRIBUTE: f"{record.owner}/{record.id}",
                    LINE_ATTRIBUTE: str(line.number),
                    MODEL_ATTRIBUTE: line.model,
                },
            )
            for line in group
        ]
        self._queues.send_batch(self._queue_url, messages)
        counts: dict[str, int] = {}
        for line in group:
            counts[line.model] = counts.get(line.model, 0) + 1
        self._batches.sent(record.owner, record.id, counts, group[-1].end)

    def _finish(self, record: BatchRecord) -> str:
        try:
            finalizing = self._batches.transition(record.owner, record.id, "finalizing", self._now())
        except ConflictError:  # cancelled at the last moment: the cancel path finalizes
            current = self._batches.get(record.owner, record.id)
            return current.status if current else "missing"
        return self._finalize(finalizing, "completed")

    def _results(self, record: BatchRecord) -> Iterator[bytes]:
        """Every line result, read READERS at a time (one GET each would take 50,000 round trips
        in a row), a window at a time so that only a window is ever held."""
        keys = self._objects.keys(results_prefix(record.owner, record.id))
        with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="batch-results") as pool:
            for start in range(0, len(keys), READ_WINDOW):
                yield from pool.map(self._objects.read, keys[start : start + READ_WINDOW])

    def _finalize(self, record: BatchRecord, final: str) -> str:
        """Gather the line results into the output and error files, then the final status."""
        fields: dict[str, Any] = {}
        with (
            tempfile.SpooledTemporaryFile(SPOOL_BYTES) as output,
            tempfile.SpooledTemporaryFile(SPOOL_BYTES) as errors,
        ):
            for text in self._results(record):
                answer = json.loads(text)
                status = (answer.get("response") or {}).get("status_code", 0)
                target = output if answer.get("error") is None and 200 <= status < 300 else errors
                target.write(text.rstrip(b"\n") + b"\n")
            for name, spool, field in (
                (f"{record.id}_output.jsonl", output, "output_file_id"),
                (f"{record.id}_error.jsonl", errors, "error_file_id"),
            ):
                size = spool.tell()
                if size == 0:
                    continue
                file_id = new_file_id()
                spool.seek(0)
                self._uploads.upload(
                    object_key(record.owner, file_id), spool, content_type="application/jsonl"
                )
                self._files.record_output(record.owner, file_id, name, size)
                fields[field] = file_id
        done = self._batches.transition(record.owner, record.id, final, self._now(), **fields)
        self._objects.delete_prefix(results_prefix(record.owner, record.id))
        logger.info(
            "batch finished",
            extra={
                "batch_id": record.id,
                "status": final,
                "completed": done.completed,
                "failed": done.failed,
            },
        )
        return final
