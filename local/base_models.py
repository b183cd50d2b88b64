"""Base-model weights on the local stack: `tiny-local` is built once, cached, and put in the bucket.

On AWS an operator uploads weights to `s3://<bucket>/base-models/<name>/` (README); locally the
stack does it for the one model that trains on CPU. Training jobs wait for it (`wait_ready`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

from local import training_env

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "relay" / "base-models"
LOCAL_MODEL = "tiny-local"
PREFIX = "base-models/"

logger = logging.getLogger("relay.local")
_ready = threading.Event()
_problem: list[str] = []
_deferred: list[tuple[Any, str]] = []  # (s3, bucket) while .venv-train is not built yet
_deferred_lock = threading.Lock()


def training_python() -> str:
    return training_env.ensure()  # builds .venv-train on first use


def _build(target: Path) -> None:
    if (target / "config.json").is_file():
        return
    partial = target.with_name(target.name + ".partial")
    subprocess.run(
        [training_python(), str(REPO / "local" / "tiny_model.py"), str(partial)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    partial.rename(target)


def _seed(s3: Any, bucket: str) -> None:
    try:
        target = CACHE / LOCAL_MODEL
        target.parent.mkdir(parents=True, exist_ok=True)
        _build(target)
        for path in sorted(p for p in target.rglob("*") if p.is_file()):
            s3.upload_file(str(path), bucket, f"{PREFIX}{LOCAL_MODEL}/{path.relative_to(target).as_posix()}")
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        _problem.append(
            f"could not build the {LOCAL_MODEL} base model: {exc} {detail.decode(errors='replace')[-500:]}"
        )
        logger.warning(_problem[-1])
    finally:
        _ready.set()


def seed_in_background(s3: Any, bucket: str) -> None:
    """Build (first time only) and upload tiny-local without holding up the stack's start."""
    _ready.clear()
    _problem.clear()
    if not training_env.ready():  # the first training job builds the environment, then seeds
        _deferred[:] = [(s3, bucket)]
        return
    threading.Thread(target=_seed, args=(s3, bucket), name="seed-base-models", daemon=True).start()


def wait_ready(timeout: float = 600) -> str | None:
    """Block until the seeding finished; the problem, if it failed."""
    with _deferred_lock:
        if _deferred:
            _seed(*_deferred.pop())
    _ready.wait(timeout)
    return _problem[-1] if _problem else None
