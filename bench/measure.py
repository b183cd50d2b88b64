"""Latency, streaming and throughput runs, interleaved so drift hits every target alike."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.clients import Stream

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")
# The emulator sent two events this far apart: arriving in one read means someone held one back.
BATCH_GAP_NS = 100_000


class Target(Protocol):
    name: str

    def chat(self, prompt: str) -> str: ...

    def stream(self, prompt: str) -> Stream: ...


def words(count: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(count))


def rotations(targets: Sequence[Target], index: int) -> list[Target]:
    """Round `index` of a rotating order, so no target always runs first or last."""
    shift = index % len(targets)
    return list(targets[shift:]) + list(targets[:shift])


def sequential_latency(targets: Sequence[Target], requests: int, warmup: int) -> dict[str, list[float]]:
    """Milliseconds per non-streaming request, one request per target per round."""
    prompt = words(24)
    for _ in range(warmup):
        for target in targets:
            target.chat(prompt)
    samples: dict[str, list[float]] = {t.name: [] for t in targets}
    expected = prompt
    for index in range(requests):
        for target in rotations(targets, index):
            started = time.perf_counter_ns()
            text = target.chat(prompt)
            samples[target.name].append((time.perf_counter_ns() - started) / 1e6)
            if text.strip() != expected:
                raise RuntimeError(f"{target.name} answered {text[:80]!r}, not the echoed prompt")
    return samples


@dataclass
class StreamSample:
    stream: Stream
    sent: list[int] = field(default_factory=list)  # emulator send time per content event
    upstream_chunks: int = 0

    @property
    def lags_ms(self) -> list[float]:
        return [(a - s) / 1e6 for a, s in zip(self.stream.arrivals, self.sent, strict=False)]

    @property
    def batched(self) -> int:
        """Content chunks that reached the client in the read before them though sent apart."""
        reads, sent = self.stream.reads, self.sent
        return sum(
            1
            for k in range(1, min(len(reads), len(sent)))
            if reads[k] == reads[k - 1] and sent[k] - sent[k - 1] >= BATCH_GAP_NS
        )


def _fetch_trace(emulator_url: str, trace_id: str) -> list[list[Any]]:
    url = f"{emulator_url}/__bench/trace/{trace_id}"
    for _ in range(50):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return list(json.loads(response.read())["events"])
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            time.sleep(0.01)  # the emulator files the trace as its generator finishes
    raise RuntimeError(f"no emulator trace for {trace_id}")


def streaming(
    targets: Sequence[Target], emulator_url: str, streams: int, chunks: int, warmup: int
) -> dict[str, list[StreamSample]]:
    body = words(chunks - 1)  # plus the trace id: `chunks` content events upstream
    for _ in range(warmup):
        for target in targets:
            target.stream(f"bench-{os.urandom(6).hex()} {body}")
    out: dict[str, list[StreamSample]] = {t.name: [] for t in targets}
    for index in range(streams):
        for target in rotations(targets, index):
            trace_id = os.urandom(6).hex()
            stream = target.stream(f"bench-{trace_id} {body}")
            events = _fetch_trace(emulator_url, trace_id)
            content = [(sent, text) for sent, kind, text in events if kind == "contentBlockDelta" and text]
            if "".join(stream.texts) != "".join(text for _, text in content):
                raise RuntimeError(f"{target.name} streamed other text than the emulator sent")
            sample = StreamSample(stream, [sent for sent, _ in content], len(content))
            out[target.name].append(sample)
    return out


def _run_for(
    make_worker: Callable[[], Callable[[], Any]], concurrency: int, seconds: float
) -> tuple[int, int]:
    """Requests completed (and errors) by `concurrency` threads within `seconds`."""
    workers = [make_worker() for _ in range(concurrency)]
    for call in workers:
        call()  # open each connection before the clock starts
    barrier = threading.Barrier(concurrency + 1)
    counts = [0] * concurrency
    errors = [0] * concurrency
    deadline = [0.0]

    def loop(slot: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            try:
                call()
            except Exception:
                errors[slot] += 1
                continue
            if time.perf_counter() <= deadline[0]:
                counts[slot] += 1

    threads = [threading.Thread(target=loop, args=(i, w), daemon=True) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    return sum(counts), sum(errors)


def throughput(
    factories: dict[str, Callable[[], Callable[[], Any]]],
    concurrencies: Sequence[int],
    rounds: int,
    seconds: float,
) -> dict[str, dict[int, dict[str, float]]]:
    """Requests per second per target and concurrency, rounds alternating between targets."""
    names = list(factories)
    totals: dict[str, dict[int, list[int]]] = {n: {c: [0, 0] for c in concurrencies} for n in names}
    for concurrency in concurrencies:
        for index in range(rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                done, failed = _run_for(factories[name], concurrency, seconds)
                totals[name][concurrency][0] += done
                totals[name][concurrency][1] += failed
    return {
        name: {
            c: {"rps": done / (rounds * seconds), "errors": float(failed)}
            for c, (done, failed) in per.items()
        }
        for name, per in totals.items()
    }
