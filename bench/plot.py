"""The bench chart, drawn in the bench's own matplotlib environment:
`bench/.work/plot-venv/bin/python bench/plot.py <samples.json> <out.png>`."""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLORS = {"direct": "#555555", "floor": "#2ca02c", "relay": "#1f77b4", "litellm": "#d62728"}
LABELS = {
    "direct": "direct boto3",
    "floor": "floor (bare ASGI)",
    "relay": "Relay",
    "litellm": "LiteLLM proxy",
}


def _ecdf(ax: plt.Axes, samples: dict[str, list[float]], title: str, xlabel: str) -> None:
    for name, values in samples.items():
        if values:
            ordered = sorted(values)
            ys = [(i + 1) / len(ordered) for i in range(len(ordered))]
            ax.step(ordered, ys, where="post", color=COLORS.get(name), label=LABELS.get(name, name))
    ax.set_xscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of requests")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()


def main(source: str, target: str) -> None:
    with open(source) as fh:
        data = json.load(fh)
    fig, axes = plt.subplots(2, 2, figsize=(14, 10))
    _ecdf(axes[0][0], data["latency"], "Non-streaming latency (sequential)", "ms (log)")
    _ecdf(axes[0][1], data["ttft"], "Streaming time to first token", "ms (log)")

    ax = axes[1][0]
    for name, streams in data["lags"].items():
        for stream in streams:
            ax.plot(range(len(stream)), stream, color=COLORS.get(name), alpha=0.08, linewidth=0.8)
        if streams:
            width = max(len(s) for s in streams)
            medians = []
            for k in range(width):
                column = sorted(s[k] for s in streams if k < len(s))
                medians.append(column[len(column) // 2])
            ax.plot(
                range(width),
                medians,
                color=COLORS.get(name),
                linewidth=2,
                label=f"{LABELS.get(name, name)} median",
            )
    ax.set_title("Per-chunk arrival lag after the emulator sent the event")
    ax.set_xlabel("content chunk index")
    ax.set_ylabel("ms")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()

    all_lags = {name: [lag for stream in streams for lag in stream] for name, streams in data["lags"].items()}
    _ecdf(axes[1][1], all_lags, "Arrival lag of every streamed chunk", "ms after the emulator sent it (log)")
    axes[1][1].set_ylabel("fraction of chunks")

    fig.suptitle(data.get("title", "Relay bench"))
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
