"""A small threaded HTTP server that emulators register routes on.

It speaks HTTP/1.1 with keep-alive and TCP_NODELAY (so streamed events leave at once),
streams chunked bodies, and answers AWS-style errors that botocore parses as the real
service's.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

Operation = TypeVar("Operation")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(
            status,
            json.dumps(data).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )


@dataclass
class StreamResponse:
    """A body sent with chunked encoding, one chunk per item, flushed as produced."""

    chunks: Iterable[bytes]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def aws_error(status: int, code: str, message: str) -> Response:
    """An error as REST-JSON AWS services send it (botocore reads `x-amzn-ErrorType`)."""
    return Response.json(
        {"message": message, "Message": message},
        status,
        {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"},
    )


def json_error(code: str, message: str, status: int = 400) -> Response:
    """An error as JSON-protocol AWS services (SageMaker) send it: botocore reads `__type`,
    and the header, which SageMaker also sends."""
    return Response.json({"__type": code, "message": message}, status, {"x-amzn-ErrorType": code})


def json_call(
    request: Request, prefix: str, operations: Mapping[str, Operation]
) -> tuple[Operation, dict[str, Any]] | Response | None:
    """The operation an `x-amz-target` of `prefix` names and the request's JSON body; None when
    the target is not one of `operations` (the caller passes the request on), a
    SerializationException when the body is not JSON."""
    target = request.headers.get("x-amz-target", "")
    operation = operations.get(target.removeprefix(prefix)) if target.startswith(prefix) else None
    if operation is None:
        return None
    try:
        return operation, request.json()
    except ValueError:
        return json_error("SerializationException", "The request body is not JSON")


Handler = Callable[[Request], Response | StreamResponse]


class Router:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for route_method, regex, handler in self.routes:
            if route_method == method:
                found = regex.match(path)
                if found:
                    return handler, {k: unquote(v) for k, v in found.groupdict().items()}
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:  # silence per-request logging
        return

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        found = self.server.router.match(self.command, split.path)
        if found is None:
            self._send(aws_error(404, "UnknownOperationException", f"No route {split.path}"))
            return
        handler, params = found
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            params=params,
        )
        try:
            result = handler(request)
        except Exception as exc:  # an emulator bug must surface as a 500, not a hung client
            result = aws_error(500, "InternalServerException", f"emulator error: {exc!r}")
        if isinstance(result, StreamResponse):
            self._stream(result)
        else:
            self._send(result)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("x-amzn-RequestId", "emulator")
        self.end_headers()
        self.wfile.write(response.body)
        self.wfile.flush()

    def _stream(self, response: StreamResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", "emulator")
        self.end_headers()
        try:
            for chunk in response.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except _AbortStream:
            # A broken stream: drop the connection without the closing chunk.
            self.close_connection = True


class _AbortStream(Exception):
    """Raised by a stream generator to cut the connection mid-body."""


AbortStream = _AbortStream


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, router: Router | None = None) -> None:
        super().__init__((host, port), _Handler)
        self.router = router or Router()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
