"""The serving process: load one model, then answer SageMaker's container contract on loopback.

Run by the training environment's Python (`python -m local.emulators.serving.server --kind ...`).
It binds a free port only once the model is loaded and prints `{"port": N}` on stdout, so the
parent knows the container is healthy; a load failure exits non-zero with the reason on stderr.
Routes: GET /ping, POST /invocations (header `X-Relay-Adapter` picks a LoRA adapter component),
POST /adapters and DELETE /adapters/<name> (adapter components on this base model).
It exits when its parent does, so a killed stack leaves no process behind.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

KINDS = ("text-generation", "classifier", "embedding")


class Container:
    def __init__(self, kind: str, model_dir: Path, base_dir: Path | None, served_name: str) -> None:
        from local.emulators.serving import encoders, generation

        self.kind, self.served_name = kind, served_name
        self.text: generation.TextModel | None = None
        self.encoder: Any = None
        if kind == "text-generation":
            self.text = generation.TextModel(model_dir, base_dir)
        elif kind == "classifier":
            self.encoder = encoders.Classifier(model_dir, base_dir)
        else:
            self.encoder = encoders.Embedder(model_dir, base_dir)

    def invoke(self, body: dict[str, Any], adapter: str | None) -> tuple[dict[str, Any] | list[Any], bool]:
        """The answer, or (for a streamed request) an iterator of SSE bytes; the flag says which."""
        from local.emulators.serving import openai_api
        from local.emulators.serving.generation import ContainerError

        if self.text is None:
            if adapter is not None:
                raise ContainerError(400, f"adapter components need a text-generation model, not {self.kind}")
            return self.encoder(body), False
        job = openai_api.parse(body, self.text, self.served_name)
        if job.stream:
            return openai_api.stream(job, self.text, adapter), True  # type: ignore[return-value]
        return openai_api.complete(job, self.text, adapter), False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    container: Container

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, document: Any) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:
        self._reply(200 if self.path == "/ping" else 404, {"status": "healthy"})

    def do_DELETE(self) -> None:
        name = self.path.removeprefix("/adapters/")
        if self.container.text is not None:
            self.container.text.unload_adapter(name)
        self._reply(200, {"deleted": name})

    def do_POST(self) -> None:
        from local.emulators.serving.generation import ContainerError

        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ContainerError(400, "the request body must be a JSON object")
            if self.path == "/adapters":
                if self.container.text is None:
                    raise ContainerError(
                        400, f"adapter components need a text-generation model, not {self.container.kind}"
                    )
                self.container.text.load_adapter(str(body["name"]), Path(str(body["path"])))
                self._reply(200, {"loaded": body["name"]})
                return
            if self.path != "/invocations":
                self._reply(404, {"error": f"no route {self.path}"})
                return
            answer, streamed = self.container.invoke(body, self.headers.get("X-Relay-Adapter") or None)
        except ContainerError as exc:
            error = {"object": "error", "message": exc.message, "type": "BadRequestError", "param": exc.param}
            self._reply(exc.status, {**error, "code": exc.status})
            return
        except (ValueError, KeyError) as exc:
            self._reply(400, {"object": "error", "message": f"bad request: {exc}", "code": 400})
            return
        if streamed:
            self._stream(answer)  # type: ignore[arg-type]
        else:
            self._reply(200, answer)


def _watch_parent(parent: int) -> None:
    # Reparented (the stack died without stopping us): nothing can reach this process any more.
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="serving")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--base-dir", type=Path)
    parser.add_argument("--served-name", default="model")
    args = parser.parse_args(argv)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    try:
        Handler.container = Container(args.kind, args.model_dir, args.base_dir, args.served_name)
    except Exception as exc:  # the reason becomes the component's FailureReason
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
