"""Fixtures for the training tests: a tiny randomly initialised model and SageMaker-like job directories.

The training stack (torch, transformers, TRL) is installed in .venv-train only; in any other
environment these tests are not collected at all.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from training_support import Job, build_tiny_model

if importlib.util.find_spec("torch") is None:
    collect_ignore_glob = ["test_*.py"]

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
