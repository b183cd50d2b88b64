"""Machine-readable metric lines (`RELAY_METRIC {json}`) on stdout and in `metrics.jsonl`.

Standard library only: the pipeline's poll loop imports `parse_metric_line` to read these lines
back out of the training job's CloudWatch log stream.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any, TextIO

PREFIX = "RELAY_METRIC "
METRICS_FILE = "metrics.jsonl"
REQUIRED_KEYS = ("step", "progress")
# Progress reaches 100 only in the final record, written after the model is saved, so a
# consumer can treat 100 as "the artefacts exist".
MAX_TRAINING_PROGRESS = 99.0


def progress_percent(step: int, max_steps: int) -> float:
    """Share of optimiser steps done, in percent, held below 100 until the run has finished."""
    if max_steps <= 0:
        return 0.0
    return round(min(MAX_TRAINING_PROGRESS, 100.0 * step / max_steps), 2)


def _json_safe(value: Any) -> Any:
    # JSON has no NaN or Infinity; a diverged loss is reported as null rather than breaking the line.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_metric_line(record: dict[str, Any]) -> str:
    """One line: the prefix, then the record as compact JSON (no newline inside)."""
    clean = {key: _json_safe(value) for key, value in record.items()}
    return PREFIX + json.dumps(clean, separators=(", ", ": "), allow_nan=False)


def parse_metric_line(line: str) -> dict[str, Any] | None:
    """The record in a log line, or None when the line carries no well-formed metric.

    The prefix may follow other text on the same line (a progress bar ending in a carriage
    return, a log-agent timestamp); anything after the JSON object is ignored.
    """
    start = line.find(PREFIX)
    if start < 0:
        return None
    payload = line[start + len(PREFIX) :].lstrip()
    try:
        record, _ = json.JSONDecoder().raw_decode(payload)
    except ValueError:
        return None
    if not isinstance(record, dict) or any(key not in record for key in REQUIRED_KEYS):
        return None
    if not all(isinstance(record[key], int | float) for key in REQUIRED_KEYS):
        return None
    return record


class MetricSink:
    """Writes each record as a metric line to a stream and appends it to `<output_dir>/metrics.jsonl`."""

    def __init__(self, output_dir: Path, stream: TextIO | None = None) -> None:
        self.path = output_dir / METRICS_FILE
        self.stream = stream
        self.records: list[dict[str, Any]] = []
        output_dir.mkdir(parents=True, exist_ok=True)

    def emit(self, record: dict[str, Any]) -> dict[str, Any]:
        """Stamp, print and persist one record; returns the record as written."""
        stamped = {"timestamp": round(time.time(), 3), **record}
        line = format_metric_line(stamped)
        # Resolved at call time so pytest's capture and SageMaker's log agent both see the line.
        stream = self.stream or sys.stdout
        print(line, file=stream, flush=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line[len(PREFIX) :] + "\n")
        self.records.append(stamped)
        return stamped

    def finish(self, step: int, epoch: float, loss: float | None, **extra: Any) -> dict[str, Any]:
        """The closing record: progress 100, written once the final model is on disk.

        Its `loss` is a point of the loss curve only when no logging step already reported
        the loss at this step: a short job (one optimiser step) would otherwise show the same
        loss twice, a flat "curve" of two identical points.
        """
        record: dict[str, Any] = {"step": step, "epoch": epoch, "progress": 100.0, "final": True, **extra}
        logged = any(r.get("step") == step and "loss" in r and not r.get("final") for r in self.records)
        if not logged:
            record["loss"] = loss
        return self.emit(record)


def scalar_metrics(logs: dict[str, Any]) -> dict[str, float]:
    """The numeric entries of a Trainer log dict (tensors already converted by the Trainer)."""
    return {
        key: float(value)
        for key, value in logs.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
