"""The bench's stand-in for AWS, in its own process: `python -m bench.stack --info <file>`.

It is the local stack (moto plus the emulators) with one addition kept out of the
emulators themselves: ConverseStream is wrapped so that, for a prompt carrying a trace
id (`bench-<hex>`), the time each event-stream frame left the socket is recorded, and
`GET /__bench/trace/<id>` hands those times over. Times are `perf_counter_ns`, which is
CLOCK_MONOTONIC on Linux, so they compare with the client's in another process.

Running the emulator apart from the bench client keeps the two from contending for one
GIL, which would otherwise add up to a switch interval to either side's timings.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from botocore.eventstream import EventStreamBuffer

from local import stack as local_stack
from local.emulators import bedrock_runtime
from local.emulators.server import Request, Response, Router, StreamResponse

TRACE_ID = re.compile(rb"bench-([0-9a-f]{8,32})")
# trace id -> [(sent ns, event type, delta text)]
_traces: dict[str, list[tuple[int, str, str]]] = {}
_lock = threading.Lock()


def _delta_text(event_type: str, payload: bytes) -> str:
    if event_type != "contentBlockDelta":
        return ""
    delta = json.loads(payload).get("delta", {})
    return str(delta.get("text", ""))


def _traced(chunks: Iterator[bytes], trace_id: str) -> Iterator[bytes]:
    """Yield the emulator's HTTP chunks; note when each completed frame was written."""
    buffer = EventStreamBuffer()
    events: list[tuple[int, str, str]] = []
    try:
        for chunk in chunks:
            yield chunk
            # The server asks for the next chunk only after writing and flushing this one.
            sent = time.perf_counter_ns()
            buffer.add_data(chunk)
            for message in buffer:
                kind = str(message.headers.get(":event-type") or message.headers.get(":exception-type"))
                events.append((sent, kind, _delta_text(kind, message.payload)))
    finally:
        with _lock:
            _traces[trace_id] = events


def traced_converse_stream(request: Request) -> Response | StreamResponse:
    result = bedrock_runtime.converse_stream(request)
    found = TRACE_ID.search(request.body)
    if found is None or not isinstance(result, StreamResponse):
        return result
    result.chunks = _traced(iter(result.chunks), found.group(1).decode())
    return result


def trace(request: Request) -> Response:
    with _lock:
        events = _traces.pop(request.params["trace_id"], None)
    if events is None:
        return Response.json({"message": "no such trace"}, 404)
    return Response.json({"events": events})


def register(router: Router) -> None:
    # Registered first: the router answers with the first matching route.
    router.add("POST", "/model/(?P<model_id>.+)/converse-stream", traced_converse_stream)
    router.add("GET", "/__bench/trace/(?P<trace_id>[0-9a-f]+)", trace)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stack", description=__doc__)
    parser.add_argument(
        "--info", required=True, type=Path, help="where to write the stack's JSON description"
    )
    args = parser.parse_args(argv)

    local_stack.EMULATOR_REGISTRARS.insert(0, register)
    stack = local_stack.LocalStack().start()
    info = {"emulator_url": stack.emulator_url, "admin_key": stack.admin_key, "env": stack.applied_env}
    # Written whole, then renamed: the bench reads the file as soon as it exists.
    partial = args.info.with_name(args.info.name + ".partial")
    partial.write_text(json.dumps(info))
    partial.replace(args.info)

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
