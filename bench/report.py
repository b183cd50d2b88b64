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
TARGETS = ("direct", "floor", "relay", "litellm")
LABELS = {"direct": "Direct (boto3)", "floor": "Floor", "relay": "Relay", "litellm": "LiteLLM proxy"}
# The targets for what Relay may cost over the floor.
FLOOR_P50_MS, FLOOR_TTFT_MS, FLOOR_P99_MS, FLOOR_THROUGHPUT = 0.3, 0.3, 1.0, 0.85


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


def _delta(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:+.{digits}f} ms"


def _loads(r: dict[str, Any]) -> dict[str, tuple[float, float, float]]:
    return {label: tuple(values) for label, values in r.get("load", [])}


def _load_text(values: Sequence[float] | None) -> str:
    return "?" if values is None else " / ".join(f"{x:.2f}" for x in values)


def goals(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(goal, target, measured, met) — reported, never asserted."""
    out: list[tuple[str, str, str, bool | None]] = []
    floor = r.get("relay_minus_floor")
    added = r.get("added", {})
    relay, litellm = added.get("relay"), added.get("litellm")

    def check(goal: str, target: str, value: float | None, limit: float, unit: str = "ms") -> None:
        if value is None or math.isnan(value):
            out.append((goal, target, "not measured", None))
        else:
            out.append((goal, target, f"{value:.2f} {unit}", value <= limit))

    check("Relay - floor, non-streaming p50", f"≤ {FLOOR_P50_MS} ms", floor and floor["p50"], FLOOR_P50_MS)
    check(
        "Relay - floor, streaming TTFT p50",
        f"≤ {FLOOR_TTFT_MS} ms",
        floor and floor["ttft_p50"],
        FLOOR_TTFT_MS,
    )
    check(
        "Relay p99 - floor p99, non-streaming",
        f"≤ {FLOOR_P99_MS:.0f} ms",
        floor and floor["p99"],
        FLOOR_P99_MS,
    )
    tput = r.get("throughput", {})
    ratio = floor["throughput_ratio"].get(32) if floor else None
    goal, target = "Throughput at c=32, Relay / floor", f"≥ {FLOOR_THROUGHPUT:.0%}"
    if ratio is None or math.isnan(ratio):
        out.append((goal, target, "not measured", None))
    else:
        rps = f"{tput['relay'][32]['rps']:.0f} vs {tput['floor'][32]['rps']:.0f} req/s"
        out.append((goal, target, f"{ratio:.0%} ({rps})", ratio >= FLOOR_THROUGHPUT))
    check("Inter-chunk gap, Relay - floor (mean)", "≤ 0.2 ms", floor and floor["gap_mean"], 0.2)
    stream = r.get("streaming", {}).get("relay")
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
            out.append((f"Less added latency than LiteLLM ({pct}, vs direct)", "≥ 10x", text, ok))
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
    for label, limit in (("data plane", 250), ("control plane", 350)):
        cold = r.get("cold", {}).get(label)
        runs = len(cold["runs"]) if cold else 0
        check(f"Cold import, {label} (median of {runs})", f"≤ {limit} ms", cold and cold["median_ms"], limit)
    rss = r.get("rss", {}).get("relay_first")
    check("Peak RSS after first request (data plane)", "≤ 120 MB", rss, 120, "MiB")
    layer = r.get("package", {}).get("mb", {}).get("layer")
    check("Layer size, unzipped", "≤ 25 MB", layer, 25, "MiB")
    return out


def headline(r: dict[str, Any]) -> list[str]:
    """Relay - floor in one sentence, and the load average beside it."""
    floor = r.get("relay_minus_floor")
    if floor:
        ratio = floor["throughput_ratio"].get(32, math.nan)
        text = (
            f"**Relay - floor: {_delta(floor['p50'])} p50 and {_delta(floor['p99'])} p99 non-streamed, "
            f"{_delta(floor['ttft_p50'])} time to first token (p50), {_delta(floor['gap_mean'], 3)} "
            f"inter-chunk gap; throughput at c=32 {_num(ratio * 100)}% of the floor's.**"
        )
    else:
        text = "**Relay - floor: not measured.**"
    loads = _loads(r)
    during = ", ".join(
        f"{label} {values[0]:.2f}" for label, values in loads.items() if label not in ("start", "end")
    )
    return [
        text,
        "",
        f"Load average (1 / 5 / 15 min): {_load_text(loads.get('start'))} at start, "
        f"{_load_text(loads.get('end'))} at end"
        + (f"; the 1-min figure as each section began: {during}" if during else "")
        + f" ({r['machine'].get('Cores', '?')} cores; the bench itself loads them).",
    ]


def markdown(r: dict[str, Any], chart: str) -> str:
    lines = [f"# Relay bench — {r['started']}", ""]
    lines += [
        f"Mode: **{r['mode']}** · commit {r['revision']} · upstream delay {r['delay_ms']} ms, "
        f"chunk delay {r['chunk_delay_ms']} ms · run took {r['elapsed_s']:.0f} s",
        "",
        *headline(r),
        "",
        "Figures are noisy unless the machine was otherwise idle (see the load average). "
        "*Relay - floor* = Relay's figure minus the floor's (bench/floor.py: a bare ASGI passthrough "
        "under the same uvicorn command), the cost of Relay's own code; *Added* = a gateway's figure "
        "minus the direct boto3 call's, at the same percentile. Requests are interleaved between targets.",
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
    loads = _loads(r)
    if "end" in loads:
        lines.append(_row(["Load average at end", _load_text(loads["end"])]))
    lines += ["", "## Setup", ""] + [f"- {note}" for note in r.get("notes", [])]
    lines += ["", f"![latency distributions and per-chunk arrival]({chart})", ""]
    return "\n".join(lines)


def _header(names: Sequence[str]) -> list[str]:
    columns = _cells(names, "Figure", [LABELS[n] for n in names], "Relay - floor", "Relay / LiteLLM")
    return [_row(columns), _row(["---"] * len(columns))]


def _cells(names: Sequence[str], label: str, cells: list[str], versus: str, ratio: str) -> list[str]:
    """A table row: the Relay / LiteLLM column only when LiteLLM was measured."""
    return [label, *cells, versus, *([ratio] if "litellm" in names else [])]


def _latency_section(r: dict[str, Any]) -> list[str]:
    lat, added, tput = r.get("latency", {}), r.get("added", {}), r.get("throughput", {})
    floor = r.get("relay_minus_floor", {})
    names = [n for n in TARGETS if n in lat or n in tput]
    lines = [
        "",
        f"## Non-streaming chat ({lat.get('relay', {}).get('n', 0)} sequential requests per target)",
        "",
        *_header(names),
    ]
    for pct in ("p50", "p90", "p99", "mean"):
        cells = [_ms(lat.get(n, {}).get(pct)) for n in names]
        ratio = _ratio(lat.get("relay", {}).get(pct), lat.get("litellm", {}).get(pct))
        lines.append(_row(_cells(names, f"Latency {pct}", cells, f"**{_delta(floor.get(pct))}**", ratio)))
    for pct in ("p50", "p99"):
        cells = ["-" if n == "direct" else _ms(added.get(n, {}).get(pct)) for n in names]
        ratio = _ratio(added.get("relay", {}).get(pct), added.get("litellm", {}).get(pct))
        lines.append(_row(_cells(names, f"Added latency {pct} (vs direct)", cells, "", ratio)))
    for concurrency in sorted({int(c) for per in tput.values() for c in per}):

        def rps(name: str, c: int = concurrency) -> float | None:
            return tput.get(name, {}).get(c, {}).get("rps")

        cells = [_num(rps(n)) + _errors(tput.get(n, {}).get(concurrency)) for n in names]
        relay, base = rps("relay"), rps("floor")
        versus = "-" if relay is None or not base else f"**{relay - base:+.0f} req/s ({relay / base:.0%})**"
        label = f"Throughput c={concurrency} (req/s)"
        lines.append(_row(_cells(names, label, cells, versus, _ratio(relay, rps("litellm")))))
    return lines


def _errors(entry: dict[str, float] | None) -> str:
    return f" ({entry['errors']:.0f} errors)" if entry and entry.get("errors") else ""


def _stream_section(r: dict[str, Any]) -> list[str]:
    st = r.get("streaming", {})
    if not st:
        return []
    floor = r.get("relay_minus_floor", {})
    names = [n for n in TARGETS if n in st]
    first = st[names[0]]
    lines = [
        "",
        f"## Streaming chat ({first['n']} streams per target, {first['chunks_per_stream']} chunks each)",
        "",
        *_header(names),
    ]
    rows = [
        ("Time to first token p50", "ttft_p50", _ms),
        ("Time to first token p99", "ttft_p99", _ms),
        ("TTFT added (p50, vs direct)", "ttft_added", _ms),
        ("Mean inter-chunk gap", "gap_mean", lambda v: _ms(v, 3)),
        ("Inter-chunk gap added (vs direct)", "gap_added", lambda v: _ms(v, 3)),
        ("Arrival lag after emulator send, p50", "lag_p50", lambda v: _ms(v, 3)),
        ("Arrival lag, max", "lag_max", lambda v: _ms(v, 3)),
        ("Chunks sent by emulator", "chunks_sent", _num),
        ("Chunks received", "chunks_received", _num),
        ("Chunks batched (sent ≥ 0.1 ms apart, one read)", "batched", _num),
    ]
    for label, key, fmt in rows:
        cells = [fmt(st[n].get(key)) if key in st[n] else "-" for n in names]
        versus = f"**{_delta(floor[key], 2 if 'ttft' in key else 3)}**" if key in floor else ""
        ratio = (
            _ratio(st.get("relay", {}).get(key), st.get("litellm", {}).get(key))
            if "added" in key or "lag" in key or "ttft" in key
            else ""
        )
        lines.append(_row(_cells(names, label, cells, versus, ratio)))
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
    first = r.get("first_chat")
    if first:
        lines.append(
            _row(
                [
                    f"Data plane: the first chat request's one-time work, less the network (median of {first['runs']})",
                    f"{first['first_ms']:.0f} ms (import and it together: {first['total_ms']:.0f} ms; "
                    "SnapStart's prime pays it before the snapshot)",
                ]
            )
        )
    control = r.get("first_control")
    if control:
        lines.append(
            _row(
                [
                    "Control plane: the first request's one-time work, less the network: a `GET /v1/projects` "
                    f"refused for want of a key (median of {control['runs']})",
                    f"{control['first_ms']:.0f} ms (import and it together: {control['total_ms']:.0f} ms; "
                    "the X-Ray tracer, FastAPI and the projects router)",
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
        "floor_first": "Floor, after first request",
        "floor_after": "Floor, after the whole run",
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
