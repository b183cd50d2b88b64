"""One serving process (the "container" of a component or single-model endpoint), seen from the stack.

Spawned with the training environment's Python, it loads its model and reports its port; requests
are forwarded to it over loopback HTTP and streamed back as they are produced. Every live process
is tracked so the stack's shutdown (and, as a last resort, interpreter exit) stops them all.
"""

from __future__ import annotations

import atexit
import http.client
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import base_models

REPO = Path(__file__).resolve().parents[3]
# A tiny model loads in seconds; this bounds a wedged import, not a normal start.
START_TIMEOUT_SECONDS = 180
_live: set[ServingProcess] = set()
_live_lock = threading.Lock()


class ServingError(Exception):
    """The container did not start; the message is the FailureReason SageMaker would show."""


@dataclass
class Reply:
    status: int
    content_type: str
    chunks: Iterator[bytes]


class ServingProcess:
    def __init__(self, kind: str, model_dir: Path, base_dir: Path | None, served_name: str, workdir: Path):
        self.kind, self.model_dir, self.base_dir = kind, model_dir, base_dir
        self.served_name, self.workdir = served_name, workdir
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Spawn and wait until the model is loaded; raises ServingError with the container's reason."""
        command = [base_models.training_python(), "-m", "local.emulators.serving.server"]
        command += [
            "--kind",
            self.kind,
            "--model-dir",
            str(self.model_dir),
            "--served-name",
            self.served_name,
        ]
        if self.base_dir is not None:
            command += ["--base-dir", str(self.base_dir)]
        log = self.workdir / "container.log"
        with log.open("wb") as stderr:
            self._process = subprocess.Popen(
                command,
                cwd=str(REPO),
                env=_environment(),
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        with _live_lock:
            _live.add(self)
        line = self._first_line()
        try:
            self.port = int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError):
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            self.stop()
            raise ServingError(
                "The model container failed to start: " + (" ".join(tail) or "no output")
            ) from None

    def _first_line(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        found: list[bytes] = []
        reader = threading.Thread(target=lambda: found.append(self._process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT_SECONDS)
        return found[0].decode(errors="replace") if found else ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        """Send one request; the reply's body is read lazily, chunk by chunk as the container writes."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        connection.request(method, path, body=body, headers={"Content-Length": str(len(body)), **headers})
        response = connection.getresponse()

        def chunks() -> Iterator[bytes]:
            try:
                while True:
                    piece = response.read1(65536)
                    if not piece:
                        return
                    yield piece
            finally:
                connection.close()

        return Reply(response.status, response.getheader("Content-Type") or "application/json", chunks())

    def call(self, method: str, path: str, document: dict[str, Any]) -> tuple[int, bytes]:
        reply = self.request(
            method, path, json.dumps(document).encode(), {"Content-Type": "application/json"}
        )
        return reply.status, b"".join(reply.chunks)

    def stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process is not None and process.stdout is not None:
            process.stdout.close()
        with _live_lock:
            _live.discard(self)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _environment() -> dict[str, str]:
    import os

    # Like a container: no AWS endpoints or credentials; the model is already on disk.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RELAY_"))}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def live() -> list[ServingProcess]:
    with _live_lock:
        return list(_live)


def stop_all() -> None:
    """Stop every serving process this interpreter started (the stack's shutdown)."""
    for process in live():
        process.stop()


atexit.register(stop_all)
