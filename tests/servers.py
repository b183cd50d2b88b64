"""Loopback servers and ports for tests, safe when pytest-xdist runs several workers at once.

Binding port 0, closing the socket and handing the number on leaves a moment in which another
worker's server can take the port. These keep the socket bound instead: uvicorn is given the
bound socket itself, and a port meant to refuse connections stays bound (never listening).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _bound() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(app: Any, **config: Any) -> Iterator[int]:
    """uvicorn serving `app` in a thread on a free loopback port; yields the port."""
    import uvicorn

    with _bound() as sock:
        port = int(sock.getsockname()[1])
        options = {"log_level": "warning", **config}
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        try:
            yield port
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, not listening) until the block ends."""
    with _bound() as sock:
        yield int(sock.getsockname()[1])
