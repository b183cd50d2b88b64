"""The training environment (`.venv-train`: torch, transformers, TRL) is built on first use.

`make local` serves the API without it, so trying the API does not start with a 1.5 GB
install; the first training job (or a deployment served on CPU) runs `make .venv-train/.installed`
and waits for it, one build at a time. `RELAY_LOCAL_TRAINING_PYTHON` names another interpreter
and skips the build.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-train"
PYTHON = VENV / "bin" / "python"
INSTALLED = VENV / ".installed"  # the Makefile's marker: written after the last pip install succeeded
BUILD_SECONDS = 3600
BUILD_MESSAGE = (
    "Building the training environment (.venv-train: torch, transformers, TRL; about 1.5 GB) "
    "for the first training job; later jobs start at once"
)

_build_lock = threading.Lock()


class TrainingEnvironmentError(RuntimeError):
    """The build failed; the message ends with make's last lines."""


def configured() -> str | None:
    return os.environ.get("RELAY_LOCAL_TRAINING_PYTHON") or None


def ready() -> bool:
    return configured() is not None or INSTALLED.is_file()


def ensure() -> str:
    """The training interpreter, building `.venv-train` first if it is not there yet."""
    python = configured()
    if python:
        return python
    with _build_lock:
        if not INSTALLED.is_file():
            print(f"relay local: {BUILD_MESSAGE} ...", file=sys.stderr, flush=True)
            done = subprocess.run(
                ["make", "-C", str(REPO), str(INSTALLED.relative_to(REPO))],
                capture_output=True,
                text=True,
                timeout=BUILD_SECONDS,
                check=False,
            )
            if done.returncode != 0:
                tail = " ".join((done.stdout + done.stderr).strip().splitlines()[-5:])
                raise TrainingEnvironmentError(f"building {VENV.name} failed: {tail}")
            print("relay local: the training environment is ready", file=sys.stderr, flush=True)
    return str(PYTHON)
