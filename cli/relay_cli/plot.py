"""`relay jobs plot`: the loss series of a job as a PNG (matplotlib, the `plot` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relay_cli.errors import CliError

# Series a job may carry, each a list of {timestamp, loss}; the API has training_loss today.
SERIES = (("training_loss", "training loss"), ("evaluation_loss", "evaluation loss"))


def plot_loss(job: dict[str, Any], output: Path) -> int:
    """Write the PNG; returns how many points were drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise CliError(
            "`relay jobs plot` needs matplotlib: pip install 'relay[plot]' (or pipx inject relay matplotlib)"
        ) from None
    drawn = 0
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        for field, label in SERIES:
            points = sorted(job.get(field) or [], key=lambda p: float(p["timestamp"]))
            if not points:
                continue
            steps = list(range(1, len(points) + 1))
            axes.plot(steps, [float(p["loss"]) for p in points], marker="o", markersize=3, label=label)
            drawn += len(points)
        if not drawn:
            raise CliError(f"Training job {job.get('id')} has logged no loss yet")
        axes.set_title(f"{job.get('name') or job.get('id')} ({job.get('id')}) on {job.get('base_model')}")
        axes.set_xlabel("logged step")
        axes.set_ylabel("loss")
        axes.grid(True, alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(output, format="png")
    finally:
        plt.close(figure)
    return drawn
