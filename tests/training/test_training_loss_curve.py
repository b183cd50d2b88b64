"""A short job's loss curve: one point per optimiser step, none repeated by the closing record."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_support import Job

from relay_training.metrics import MetricSink

pytestmark = pytest.mark.training

ROWS = [{"prompt": "what is the capital of italy", "completion": "rome"}] * 4


def _loss_points(job: Job) -> list[tuple[int, float]]:
    return [(r["step"], r["loss"]) for r in job.metric_records() if "loss" in r]


def test_every_step_is_one_point_and_the_final_record_adds_none(tiny_model: Path, job: Job, run_job) -> None:
    job.write_rows(ROWS)
    hyperparameters = {"model_name_or_path": str(tiny_model), "per_device_train_batch_size": 1}
    assert run_job(job, {**hyperparameters, "num_train_epochs": 1}) == 0
    points = _loss_points(job)
    assert [step for step, _ in points] == [1, 2, 3, 4]  # the default logging ratio logs every step
    final = job.metric_records()[-1]
    assert final["final"] is True and final["progress"] == 100 and "loss" not in final
    progress = [r["progress"] for r in job.metric_records()]
    assert progress == sorted(progress)
    assert [r["progress"] for r in job.metric_records() if "loss" in r] == [25.0, 50.0, 75.0, 99.0]


def test_the_closing_record_carries_a_loss_no_step_reported(tmp_path: Path) -> None:
    sink = MetricSink(tmp_path, stream=__import__("io").StringIO())
    sink.emit({"step": 1, "progress": 50.0, "loss": 2.0})
    assert sink.finish(step=1, epoch=1.0, loss=2.0).get("loss") is None  # already a point
    later = MetricSink(tmp_path / "b", stream=__import__("io").StringIO())
    later.emit({"step": 1, "progress": 50.0, "loss": 2.0})
    assert later.finish(step=2, epoch=1.0, loss=1.5)["loss"] == 1.5  # a new step: a new point
