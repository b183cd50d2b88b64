"""Fixtures for the infra tier: the SAM CLI, its environment, and the templates under test."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BUILD_REPORT

from .stack import REPO_ROOT, raw_template, transformed_template

PYENV_313_BIN = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions" / "3.13.0" / "bin"


@pytest.fixture(scope="session")
def sam_cli() -> Path:
    """The SAM CLI from its own environment (`make .venv-sam/.installed`)."""
    path = Path(os.environ.get("SAM_CLI", REPO_ROOT / ".venv-sam" / "bin" / "sam"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not os.access(path, os.X_OK):
        pytest.fail(f"SAM CLI not found at {path}: run `make .venv-sam/.installed` or set SAM_CLI")
    return path


@pytest.fixture(scope="session")
def sam_env() -> dict[str, str]:
    """Environment for SAM subprocesses: a fixed region, no telemetry, no real credentials needed."""
    env = dict(os.environ)
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"})
    if PYENV_313_BIN.is_dir():
        # The pyenv shim may not run 3.13; the python3.13 workflow needs the real interpreter first.
        env["PATH"] = f"{PYENV_313_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return raw_template()


@pytest.fixture(scope="session")
def transformed() -> dict[str, Any]:
    return transformed_template()


@pytest.fixture()
def report(record_property: Callable[[str, object], None]) -> Callable[[str, str], None]:
    """Adds a line to the "relay build" section printed at the end of the run (tests/conftest.py)."""

    def add(key: str, value: str) -> None:
        record_property(BUILD_REPORT + key, value)

    return add
