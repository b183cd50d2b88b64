"""Summaries, the machine's description, the goals, and the markdown table."""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGETS = ("direct", "relay", "litellm")
LABELS = {"direct": "Direct (boto3)", "relay": "Relay", "litellm": "LiteLLM proxy"}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values) if values else math.nan,
    }


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "CPU": cpu,
        "Cores": str(os.cpu_count()),
        "Memory": memory or "?",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "OS": platform.platform(),
        "Load average at start": " / ".join(f"{x:.2f}" for x in load),
    }


def git_revision() -> str:
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return result.stdout.strip()

    revision = git("rev-parse", "--short", "HEAD") or "?"
    return revision + (
        " (uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    )


def _ms(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f} ms"


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None or math.isnan(value) else fmt.format(value)


def _ratio(relay: float | None, litellm: float | None) -> str:
    if relay is None or litellm is None or math.isnan(relay) or math.isnan(litellm) or litellm == 0:
        return "-"
    return f"{relay / litellm:.2f}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def key_checks(latency: dict[str, dict[str, float]]) -> dict[str, float]:
    """p50s of the admin key, a stored key without limits and one with limits, and what the limits add."""
    admin, plain, limited = (latency[n]["p50"] for n in ("relay", "relay-key", "relay-limited"))
    return {
        "admin_p50": admin,
        "unlimited_p50": plain,
        "limited_p50": limited,
        "unlimited_added_p50": plain - admin,
        "limited_added_p50": limited - plain,
    }


def goals(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(goal, target, measured, met) — reported, never asserted."""
    out: list[tuple[str, str, str, bool | None]] = []
    added = r.get("added", {})
    relay, litellm = added.get("relay"), added.get("litellm")

    def check(goal: str, target: str, value: float | None, limit: float, unit: str = "ms") -> None:
        if value is None or math.isnan(value):
            out.append((goal, target, "not measured", None))
        else:
            out.append((goal, target, f"{value:.2f} {unit}", value <= limit))

    check("Added latency, non-streaming p50", "≤ 1 ms", relay and relay["p50"], 1)
    check("Added latency, non-streaming p99", "≤ 3 ms", relay and relay["p99"], 3)
    stream = r.get("streaming", {}).get("relay")
    check("Streaming TTFT added (p50)", "≤ 2 ms", stream and stream["ttft_added"], 2)
    check("Inter-chunk gap added (mean)", "≤ 0.2 ms", stream and stream["gap_added"], 0.2)
    if stream:
        ok = stream["batched"] == 0 and stream["chunks_received"] == stream["chunks_sent"]
        measured = f"{stream['batched']} batched; {stream['chunks_received']}/{stream['chunks_sent']} chunks"
        out.append(("No batching of streamed chunks", "0 batched, all chunks", measured, ok))
    else:
        out.append(("No batching of streamed chunks", "0 batched, all chunks", "not measured", None))
    if relay and litellm:
        for pct in ("p50", "p99"):
            mine, theirs = relay[pct], litellm[pct]
            if mine <= 0:
                text, ok = f"∞ (Relay adds {mine:.2f} ms, LiteLLM {theirs:.2f} ms)", theirs > 0
            else:
                text, ok = f"{theirs / mine:.1f}x ({mine:.2f} vs {theirs:.2f} ms)", theirs / mine >= 10
            out.append((f"Less added latency than LiteLLM ({pct})", "≥ 10x", text, ok))
    else:
        out.append(("Less added latency than LiteLLM", "≥ 10x", "LiteLLM not measured", None))
    keys = r.get("key_checks")
    if keys:
        check(
            "Stored key without limits vs the admin key (p50)", "≤ 0.3 ms", keys["unlimited_added_p50"], 0.3
        )
        check(
            "Limits' counter write vs a key without limits (p50)", "≤ 0.3 ms", keys["limited_added_p50"], 0.3
        )
    cold = r.get("cold", {}).get("data plane")
    runs = len(cold["runs"]) if cold else 0
    check(f"Cold import, data plane (median of {runs})", "≤ 300 ms", cold and cold["median_ms"], 300)
    rss = r.get("rss", {}).get("relay_first")
    check("Peak RSS after first request (data plane)", "≤ 120 MB", rss, 120, "MiB")
    layer = r.get("package", {}).get("mb", {}).get("layer")
    check("Layer size, unzipped", "≤ 25 MB", layer, 25, "MiB")
    return out


def markdown(r: dict[str, Any], chart: str) -> str:
    lines = [f"# Relay bench — {r['started']}", ""]
    lines += [
        f"Mode: **{r['mode']}** · commit {r['revision']} · upstream delay {r['delay_ms']} ms, "
        f"chunk delay {r['chunk_delay_ms']} ms · run took {r['elapsed_s']:.0f} s",
        "",
        "Figures are noisy unless the machine was otherwise idle (see load average). "
        "*Added* = the gateway's figure minus the direct boto3 call's, at the same percentile, "
        "requests interleaved between targets.",
        "",
        "## Goals (reported, not asserted)",
        "",
        _row(["Goal", "Target", "Measured", "Met"]),
        _row(["---"] * 4),
    ]
    for goal, target, measured, met in goals(r):
        lines.append(
            _row([goal, target, measured, "-" if met is None else ("met" if met else "**not met**")])
        )
    lines += _latency_section(r) + _stream_section(r) + _footprint_section(r)
    lines += ["", "## Machine", "", _row(["", ""]), _row(["---", "---"])]
    lines += [_row([k, v]) for k, v in r["machine"].items()]
    lines += ["", "## Setup", ""] + [f"- {note}" for note in r.get("notes", [])]
    lines += ["", f"![latency distributions and per-chunk arrival]({chart})", ""]
    return "\n".join(lines)


def _latency_section(r: dict[str, Any]) -> list[str]:
    lat, added, tput = r.get("latency", {}), r.get("added", {}), r.get("throughput", {})
    names = [n for n in TARGETS if n in lat or n in tput]
    lines = [
        "",
        f"## Non-streaming chat ({lat.get('relay', {}).get('n', 0)} sequential requests per target)",
        "",
    ]
    lines += [
        _row(["Figure", *[LABELS[n] for n in names], "Relay / LiteLLM"]),
        _row(["---"] * (len(names) + 2)),
    ]
    for pct in ("p50", "p90", "p99", "mean"):
        cells = [_ms(lat.get(n, {}).get(pct)) for n in names]
        ratio = _ratio(lat.get("relay", {}).get(pct), lat.get("litellm", {}).get(pct))
        lines.append(_row([f"Latency {pct}", *cells, ratio]))
    for pct in ("p50", "p99"):
        cells = ["-" if n == "direct" else _ms(added.get(n, {}).get(pct)) for n in names]
        ratio = _ratio(added.get("relay", {}).get(pct), added.get("litellm", {}).get(pct))
        lines.append(_row([f"**Added latency {pct}**", *cells, ratio]))
    for concurrency in sorted({int(c) for per in tput.values() for c in per}):

        def rps(name: str, c: int = concurrency) -> float | None:
            return tput.get(name, {}).get(c, {}).get("rps")

        cells = [_num(rps(n)) + _errors(tput.get(n, {}).get(concurrency)) for n in names]
        lines.append(
            _row([f"Throughput c={concurrency} (req/s)", *cells, _ratio(rps("relay"), rps("litellm"))])
        )
    return lines


def _errors(entry: dict[str, float] | None) -> str:
    return f" ({entry['errors']:.0f} errors)" if entry and entry.get("errors") else ""


def _stream_section(r: dict[str, Any]) -> list[str]:
    st = r.get("streaming", {})
    if not st:
        return []
    names = [n for n in TARGETS if n in st]
    first = st[names[0]]
    lines = [
        "",
        f"## Streaming chat ({first['n']} streams per target, {first['chunks_per_stream']} chunks each)",
        "",
    ]
    lines += [
        _row(["Figure", *[LABELS[n] for n in names], "Relay / LiteLLM"]),
        _row(["---"] * (len(names) + 2)),
    ]
    rows = [
        ("Time to first token p50", "ttft_p50", _ms),
        ("Time to first token p99", "ttft_p99", _ms),
        ("**TTFT added (p50)**", "ttft_added", _ms),
        ("Mean inter-chunk gap", "gap_mean", lambda v: _ms(v, 3)),
        ("**Inter-chunk gap added**", "gap_added", lambda v: _ms(v, 3)),
        ("Arrival lag after emulator send, p50", "lag_p50", lambda v: _ms(v, 3)),
        ("Arrival lag, max", "lag_max", lambda v: _ms(v, 3)),
        ("Chunks sent by emulator", "chunks_sent", _num),
        ("Chunks received", "chunks_received", _num),
        ("Chunks batched (sent ≥ 0.1 ms apart, one read)", "batched", _num),
    ]
    for label, key, fmt in rows:
        cells = [fmt(st[n].get(key)) if key in st[n] else "-" for n in names]
        ratio = (
            _ratio(st.get("relay", {}).get(key), st.get("litellm", {}).get(key))
            if "added" in key or "lag" in key or "ttft" in key
            else ""
        )
        lines.append(_row([label, *cells, ratio]))
    lines += ["", "Batching is not measured for the direct call: boto3 hides its socket reads."]
    return lines


def _footprint_section(r: dict[str, Any]) -> list[str]:
    lines = ["", "## Cold start, memory, package", "", _row(["Figure", "Value"]), _row(["---", "---"])]
    for label, cold in r.get("cold", {}).items():
        lines.append(
            _row(
                [
                    f"Import time, {label} (median of {len(cold['runs'])})",
                    f"{cold['median_ms']:.0f} ms (min {cold['min_ms']:.0f}, max {cold['max_ms']:.0f})",
                ]
            )
        )
    for label, top in r.get("importtime", {}).items():
        lines.append(
            _row([f"Slowest packages to import, {label}", ", ".join(f"{p} {ms:.0f} ms" for p, ms in top)])
        )
    rss = r.get("rss", {})
    names = {
        "relay_first": "Relay, after first request",
        "relay_after": "Relay, after the whole run",
        "litellm_first": "LiteLLM, after first request",
        "litellm_after": "LiteLLM, after the whole run",
    }
    for key, label in names.items():
        if rss.get(key) is not None:
            lines.append(_row([f"Peak RSS (VmHWM), {label}", f"{rss[key]:.0f} MiB"]))
    package = r.get("package", {})
    for label, mb in package.get("mb", {}).items():
        size = f"{mb:.1f} MiB" if mb >= 1 else f"{mb * 1024:.1f} KiB"
        lines.append(_row([f"Unzipped size, {label}", size]))
    if package.get("note"):
        lines.append(_row(["Package build", package["note"]]))
    return lines
