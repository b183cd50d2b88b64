"""`make bench`: what Relay adds on top of Bedrock, against a bare passthrough floor and
side by side with LiteLLM's proxy.

Starts the local stack (moto plus the emulators, ConverseStream traced) in its own
process, then on loopback, one worker each: Relay's data-plane app under uvicorn, the
floor (bench/floor.py: the cheapest reasonable gateway, a raw ASGI app doing only the
OpenAI-to-Converse mapping, under the same uvicorn command) and LiteLLM's proxy. The
direct boto3 call and the three gateways take turns in every measurement: non-streaming
latency and throughput, streaming time to first token, inter-chunk gap and per-chunk
arrival. Relay minus the floor is the headline, next to the load average sampled at each
section. Also cold import time, memory and package size; writes bench/results/latest.md,
a timestamped copy and a chart. `--quick` runs in under a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import footprint, measure, report, servers
from bench.clients import Direct, OpenAIHttp
from bench.keys import create_keys
from bench.measure import StreamSample

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PLOT_VENV = servers.WORK / "plot-venv"
PLOT_REQUIREMENT = "matplotlib==3.11.2"
_STARTED = time.monotonic()


def step(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:5.1f} s] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests: under a minute, every section")
    parser.add_argument(
        "--delay-ms", type=int, default=0, help="emulator delay before the answer or first event"
    )
    parser.add_argument(
        "--chunk-delay-ms", type=int, default=1, help="emulator delay between streamed events"
    )
    parser.add_argument("--requests", type=int, help="sequential non-streaming requests per target")
    parser.add_argument("--streams", type=int, help="streams per target")
    parser.add_argument("--chunks", type=int, help="content chunks per stream")
    parser.add_argument(
        "--no-litellm", action="store_true", help="measure Relay, the floor and the direct call only"
    )
    parser.add_argument("--no-build", action="store_true", help="reuse an existing sam build for sizes")
    parser.add_argument(
        "--key-checks",
        action="store_true",
        help="also time Relay with a stored key without limits and one with limits (bench/keys.py)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.requests = args.requests or (150 if quick else 2000)
    args.streams = args.streams or (12 if quick else 150)
    args.chunks = args.chunks or (32 if quick else 64)
    args.throughput_seconds = 0.75 if quick else 4.0
    args.throughput_rounds = 1 if quick else 3
    args.cold_runs = 3 if quick else 5
    return args


def stream_summary(samples: list[StreamSample], with_batching: bool) -> dict[str, Any]:
    ttfts = [s.stream.ttft_ms for s in samples]
    lags = [lag for s in samples for lag in s.lags_ms]
    out: dict[str, Any] = {
        "n": len(samples),
        "chunks_per_stream": samples[0].upstream_chunks if samples else 0,
        "ttft_p50": report.percentile(ttfts, 50),
        "ttft_p99": report.percentile(ttfts, 99),
        "gap_mean": statistics.fmean(s.stream.mean_gap_ms for s in samples),
        "lag_p50": report.percentile(lags, 50),
        "lag_max": max(lags),
        "chunks_sent": sum(s.upstream_chunks for s in samples),
        "chunks_received": sum(len(s.stream.arrivals) for s in samples),
    }
    if with_batching:
        out["batched"] = sum(s.batched for s in samples)
    return out


def plot_python(notes: list[str]) -> Path | None:
    """matplotlib lives in the bench's own environment, not in requirements-dev.txt."""
    python = PLOT_VENV / "bin" / "python"
    marker = PLOT_VENV / ".installed"
    if marker.exists() and marker.read_text().strip() == PLOT_REQUIREMENT:
        return python
    step(f"installing {PLOT_REQUIREMENT} into bench/.work/plot-venv (first run only)")
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PLOT_VENV)], check=True)
        pip = [str(PLOT_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, PLOT_REQUIREMENT], check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        notes.append(f"no chart: installing {PLOT_REQUIREMENT} failed ({exc})")
        return None
    marker.write_text(PLOT_REQUIREMENT + "\n")
    return python


def event_loop(python: str) -> str:
    code = "import importlib.util as u; print(*(bool(u.find_spec(m)) for m in ('uvloop', 'httptools')))"
    found = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.split()
    loop = "uvloop" if found[:1] == ["True"] else "asyncio"
    return f"{loop} event loop, {'httptools' if found[1:] == ['True'] else 'h11'} HTTP parser"


def load(results: dict[str, Any], label: str) -> None:
    """Note the load averages (1, 5, 15 min) when a section starts: the bench loads the machine too."""
    results["load"].append((label, os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3))


def relay_minus_floor(results: dict[str, Any]) -> dict[str, Any]:
    """The headline: what Relay costs over the bare passthrough, figure by figure."""
    out: dict[str, Any] = {}
    relay, floor = results["latency"]["relay"], results["latency"]["floor"]
    out.update({pct: relay[pct] - floor[pct] for pct in ("p50", "p90", "p99", "mean")})
    relay, floor = results["streaming"]["relay"], results["streaming"]["floor"]
    out.update({key: relay[key] - floor[key] for key in ("ttft_p50", "ttft_p99", "gap_mean", "lag_p50")})
    tput = results["throughput"]
    out["throughput_ratio"] = {
        c: tput["relay"][c]["rps"] / tput["floor"][c]["rps"] if tput["floor"][c]["rps"] else math.nan
        for c in tput["floor"]
    }
    return out


def run_servers(
    args: argparse.Namespace, use_litellm: bool, results: dict[str, Any], samples: dict[str, Any]
) -> None:
    step("starting the stack, Relay, the floor" + (" and LiteLLM" if use_litellm else ""))
    stack, info = servers.start_stack(args.delay_ms, args.chunk_delay_ms)
    started: list[servers.Server] = [stack]
    try:
        with ThreadPoolExecutor(3) as pool:
            relay_job = pool.submit(servers.start_relay, info)
            floor_job = pool.submit(servers.start_floor, info)
            litellm_job = pool.submit(servers.start_litellm, stack.url) if use_litellm else None
            for job in (relay_job, floor_job, litellm_job):
                if job is not None:  # every one that started is stopped, even if another failed
                    with contextlib.suppress(Exception):
                        started.append(job.result())
            relay, floor = relay_job.result(), floor_job.result()
            litellm = litellm_job.result() if litellm_job else None
        gateways = [s for s in (floor, relay, litellm) if s is not None]
        clients = {s.name: OpenAIHttp(s.name, s.url, s.api_key, servers.MODEL) for s in gateways}
        for gateway in gateways:
            clients[gateway.name].chat("first request")
            results["rss"][f"{gateway.name}_first"] = gateway.peak_rss_mb()
        targets: list[measure.Target] = [Direct(stack.url, servers.MODEL), *clients.values()]
        keyed = (
            [
                OpenAIHttp(name, relay.url, key, servers.MODEL)
                for name, key in create_keys(servers.stack_env(info)).items()
            ]
            if args.key_checks
            else []
        )

        step(f"non-streaming: {args.requests} sequential requests per target")
        load(results, "latency")
        latency = measure.sequential_latency(
            [*targets, *keyed], args.requests, warmup=20 if args.quick else 200
        )
        samples["latency"] = latency
        results["latency"] = {name: report.summary(values) for name, values in latency.items()}
        if keyed:
            results["key_checks"] = report.key_checks(results["latency"])
        direct = results["latency"]["direct"]
        results["added"] = {
            name: {pct: results["latency"][name][pct] - direct[pct] for pct in ("p50", "p90", "p99", "mean")}
            for name in clients
        }

        step(f"streaming: {args.streams} streams of {args.chunks} chunks per target")
        load(results, "streaming")
        streams = measure.streaming(
            targets, stack.url, args.streams, args.chunks, warmup=2 if args.quick else 10
        )
        results["streaming"] = {n: stream_summary(s, with_batching=n != "direct") for n, s in streams.items()}
        base = results["streaming"]["direct"]
        for name in clients:
            results["streaming"][name]["ttft_added"] = (
                results["streaming"][name]["ttft_p50"] - base["ttft_p50"]
            )
            results["streaming"][name]["gap_added"] = (
                results["streaming"][name]["gap_mean"] - base["gap_mean"]
            )
        samples["streams"] = streams

        step("throughput at concurrency 1, 8, 32")
        load(results, "throughput")
        prompt = measure.words(24)
        factories = {"direct": _worker(targets[0], prompt)}
        factories.update({g.name: _http_worker(g, prompt) for g in gateways})
        results["throughput"] = measure.throughput(
            factories, (1, 8, 32), args.throughput_rounds, args.throughput_seconds
        )
        results["relay_minus_floor"] = relay_minus_floor(results)
        for gateway in gateways:
            results["rss"][f"{gateway.name}_after"] = gateway.peak_rss_mb()
        results["notes"].append(
            f"Relay: functions/data_plane/main.py:app under uvicorn, 1 worker, {event_loop(sys.executable)}."
        )
        results["notes"].append(
            "Floor: bench/floor.py:app under the same uvicorn command: a raw ASGI app with no framework, "
            "validation, auth, metering or logs that maps the messages to Converse with json and boto3 "
            "(Relay's client settings) on a 64-thread default executor (the size of Relay's), and for "
            "streams reads ConverseStream on one executor thread that hands each event to the loop "
            "(call_soon_threadsafe), written as one SSE frame at once. Relay - floor is what Relay's "
            "own code costs."
        )
        if litellm:
            python = str(servers.LITELLM_VENV / "bin" / "python")
            results["notes"].append(
                f"LiteLLM proxy {litellm.extra['version']} ({servers.LITELLM_REQUIREMENT}), `litellm --num_workers 1`, "
                f"{event_loop(python)}; model `bedrock/converse/{servers.MODEL}` with `aws_bedrock_runtime_endpoint` "
                "at the emulator (config: bench/.work/litellm-config.yaml)."
            )
    finally:
        for server in reversed(started):
            server.stop()


def _worker(target: measure.Target, prompt: str) -> Callable[[], Callable[[], Any]]:
    return lambda: lambda: target.chat(prompt)  # boto3 clients are thread-safe: one shared


def _http_worker(server: servers.Server, prompt: str) -> Callable[[], Callable[[], Any]]:
    def make() -> Callable[[], Any]:
        client = OpenAIHttp(server.name, server.url, server.api_key, servers.MODEL)  # a connection each
        return lambda: client.chat(prompt)

    return make


def plot_data(results: dict[str, Any], samples: dict[str, Any]) -> dict[str, Any]:
    streams: dict[str, list[StreamSample]] = samples.get("streams", {})
    return {
        "title": f"Relay bench {results['started']} ({results['mode']}; noisy unless the machine was idle)",
        "latency": samples.get("latency", {}),
        "ttft": {n: [s.stream.ttft_ms for s in runs] for n, runs in streams.items()},
        "lags": {n: [s.lags_ms for s in runs] for n, runs in streams.items()},
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    now = datetime.now(UTC)
    results: dict[str, Any] = {
        "started": now.strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "revision": report.git_revision(),
        "delay_ms": args.delay_ms,
        "chunk_delay_ms": args.chunk_delay_ms,
        "machine": report.machine(),
        "rss": {},
        "load": [],
        "notes": [],
    }
    load(results, "start")
    notes: list[str] = results["notes"]
    use_litellm = not args.no_litellm
    if use_litellm and not servers.litellm_installed():
        if args.quick:
            print("LiteLLM is not installed yet: quick mode skips it (`make bench` installs it once)")
            notes.append("LiteLLM skipped: quick mode does not install it; run `make bench` once.")
            use_litellm = False
        else:
            servers.install_litellm()
    elif not use_litellm:
        notes.append("LiteLLM skipped (--no-litellm).")
    python = plot_python(notes)

    samples: dict[str, Any] = {}
    run_servers(args, use_litellm, results, samples)

    step(f"cold import: {args.cold_runs} fresh processes per entry point")
    load(results, "cold import")
    # Quick mode trusts the bytecode the servers just compiled; a full run warms it first.
    results["cold"] = footprint.cold_imports(args.cold_runs, warm=not args.quick)
    results["first_chat"] = footprint.first_chat(args.cold_runs)
    results["first_control"] = footprint.first_control(args.cold_runs)
    if not args.quick:
        results["importtime"] = {
            label: footprint.slowest_imports(folder, module)
            for label, folder, module in footprint.ENTRY_POINTS
        }
    step("package size" + ("" if args.quick or args.no_build else " (sam build)"))
    results["package"] = footprint.package_sizes(build=not (args.quick or args.no_build))
    load(results, "end")
    results["elapsed_s"] = time.monotonic() - _STARTED
    notes += [
        f"Requests: {args.requests} sequential per target, interleaved in rotating order; streams: "
        f"{args.streams} per target of {args.chunks} content chunks; throughput: {args.throughput_rounds} "
        f"round(s) of {args.throughput_seconds} s per target and concurrency, targets alternating.",
        "Client: http.client, one kept-alive connection per thread, TCP_NODELAY; direct: boto3 Converse "
        "against the same emulator (its own process, TCP_NODELAY, events timestamped as they leave).",
        "Cold import: `import main` / `import handler` timed inside a fresh interpreter with the "
        "template's environment, bytecode cached, on this machine's Python (Lambda runs 3.13 on arm64); "
        "the floor's `import floor` (boto3 and one client) is what any boto3 gateway pays.",
        "Peak RSS: VmHWM of the server process from /proc.",
        "Load average: os.getloadavg() when each section starts and at the end; the bench's own "
        "processes raise it, so the start figure is the one that tells whether the machine was idle.",
    ]

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y-%m-%dT%H%MZ") + ("-quick" if args.quick else "")
    step("report and chart")
    data = servers.WORK / "latest-samples.json"
    data.write_text(json.dumps(plot_data(results, samples)))
    # A quick run is a smoke test: it never replaces the full run that the README links.
    latest = "latest-quick" if args.quick else "latest"
    charts = []
    if python is not None:
        result = subprocess.run(
            [str(python), str(REPO / "bench" / "plot.py"), str(data), str(RESULTS / f"{stamp}.png")]
        )
        if result.returncode == 0:
            (RESULTS / f"{latest}.png").write_bytes((RESULTS / f"{stamp}.png").read_bytes())
            charts = [f"{stamp}.png", f"{latest}.png"]
        else:
            notes.append("no chart: plotting failed")
    (RESULTS / f"{stamp}.md").write_text(report.markdown(results, charts[0] if charts else ""))
    (RESULTS / f"{latest}.md").write_text(report.markdown(results, charts[1] if charts else ""))
    print((RESULTS / f"{latest}.md").read_text())
    print(f"written: bench/results/{latest}.md, bench/results/{stamp}.md" + (", charts" if charts else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
