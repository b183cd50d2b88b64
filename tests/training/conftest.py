"""Fixtures for the training tests: a tiny randomly initialised model and SageMaker-like job directories.

The training stack (torch, transformers, TRL) is installed in .venv-train only. Elsewhere each test
module is replaced by one item that skips with the reason, so the tier reports skips instead of
collecting nothing (which pytest answers with exit code 5).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from training_support import Job, build_tiny_model

TORCH_MISSING_REASON = "torch is not installed: the training tier runs in .venv-train (make training)"


class _TrainingStackMissing(pytest.Item):
    """Stands in for a test module that cannot be imported without torch."""

    def setup(self) -> None:
        pytest.skip(TORCH_MISSING_REASON)

    def runtest(self) -> None:
        raise AssertionError("unreachable: setup always skips")

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, self.name


class _ModuleNeedingTorch(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        item = _TrainingStackMissing.from_parent(self, name=self.path.stem)
        item.add_marker(pytest.mark.training)
        yield item


if importlib.util.find_spec("torch") is None:

    def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.File:
        return _ModuleNeedingTorch.from_parent(parent, path=module_path)


# Before torch loads (here and in the subprocess that inherits the environment): the models are
# tiny, and with more threads than free cores OpenMP's spin-waiting triples the CPU time.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def job(tmp_path: Path) -> Job:
    return Job(tmp_path / "job")


@pytest.fixture
def run_job(monkeypatch: pytest.MonkeyPatch) -> Callable[[Job, dict[str, Any]], int]:
    """Run relay_training.main in this process against a job's directories."""

    def run(job: Job, hyperparameters: dict[str, Any]) -> int:
        from relay_training.main import main

        job.write_hyperparameters(hyperparameters)
        for key, value in job.env().items():
            monkeypatch.setenv(key, value)
        return main()

    return run
