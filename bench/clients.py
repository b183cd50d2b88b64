"""The three ways the bench calls the model: boto3 straight at the emulator, and OpenAI's
chat API over HTTP at Relay or LiteLLM.

The HTTP client is the standard library's: one kept-alive connection with TCP_NODELAY,
a single send per request, and chunked bodies read one HTTP chunk at a time, so neither
the client's own cost nor its buffering blurs what the gateway adds.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

MAX_TOKENS = 512


@dataclass
class Stream:
    """One streamed answer as the client saw it (times are perf_counter_ns)."""

    started: int
    arrivals: list[int] = field(default_factory=list)  # one per content chunk
    reads: list[int] = field(default_factory=list)  # which socket read delivered it
    texts: list[str] = field(default_factory=list)
    ended: int = 0

    @property
    def ttft_ms(self) -> float:
        return (self.arrivals[0] - self.started) / 1e6 if self.arrivals else float("nan")

    @property
    def mean_gap_ms(self) -> float:
        if len(self.arrivals) < 2:
            return float("nan")
        return (self.arrivals[-1] - self.arrivals[0]) / (len(self.arrivals) - 1) / 1e6


class Direct:
    """bedrock-runtime Converse/ConverseStream through boto3, as Relay itself calls it."""

    name = "direct"

    def __init__(self, emulator_url: str, model: str) -> None:
        self.model = model
        self.client = boto3.session.Session().client(
            "bedrock-runtime",
            endpoint_url=emulator_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - the emulator accepts any keys
            config=Config(retries={"max_attempts": 1}, max_pool_connections=64, tcp_keepalive=True),
        )

    def _kwargs(self, prompt: str) -> dict[str, Any]:
        return {
            "modelId": self.model,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": MAX_TOKENS},
        }

    def chat(self, prompt: str) -> str:
        response = self.client.converse(**self._kwargs(prompt))
        return str(response["output"]["message"]["content"][0]["text"])

    def stream(self, prompt: str) -> Stream:
        out = Stream(started=time.perf_counter_ns())
        response = self.client.converse_stream(**self._kwargs(prompt))
        for index, event in enumerate(response["stream"]):
            text = event.get("contentBlockDelta", {}).get("delta", {}).get("text")
            if text:
                out.arrivals.append(time.perf_counter_ns())
                out.reads.append(index)  # botocore hides its reads; one per event at best
                out.texts.append(text)
        out.ended = time.perf_counter_ns()
        return out


class OpenAIHttp:
    """POST /v1/chat/completions on a gateway over one kept-alive HTTP/1.1 connection."""

    def __init__(self, name: str, base_url: str, api_key: str, model: str) -> None:
        self.name = name
        split = urlsplit(base_url)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80
        self.path = split.path.rstrip("/") + "/chat/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self.connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            connection.connect()
            assert connection.sock is not None
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connection = connection
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _post(self, prompt: str, stream: bool) -> http.client.HTTPResponse:
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": MAX_TOKENS,
        }
        if stream:
            body["stream"] = True
        connection = self._connect()
        try:
            # A bytes body goes out with the headers in one send (no Nagle/delayed-ACK stall).
            connection.request("POST", self.path, json.dumps(body).encode(), self.headers)
            response = connection.getresponse()
        except (http.client.HTTPException, OSError):
            self.close()
            raise
        if response.status != 200:
            detail = response.read()[:500]
            self.close()
            raise RuntimeError(f"{self.name}: HTTP {response.status}: {detail!r}")
        return response

    def chat(self, prompt: str) -> str:
        data = json.loads(self._post(prompt, stream=False).read())
        return str(data["choices"][0]["message"]["content"])

    def stream(self, prompt: str) -> Stream:
        out = Stream(started=time.perf_counter_ns())
        response = self._post(prompt, stream=True)
        pending = b""
        reads = 0
        done = False
        while not done:
            data = response.read1(65536)  # at most one HTTP chunk: what the socket delivered
            if not data:
                break
            now = time.perf_counter_ns()
            reads += 1
            pending += data
            *events, pending = pending.replace(b"\r\n", b"\n").split(b"\n\n")
            for event in events:
                for line in event.split(b"\n"):
                    if not line.startswith(b"data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == b"[DONE]":
                        done = True
                        continue
                    choices = json.loads(payload).get("choices") or [{}]
                    text = (choices[0].get("delta") or {}).get("content")
                    if text:
                        out.arrivals.append(now)
                        out.reads.append(reads)
                        out.texts.append(text)
        response.read()  # drain the terminating chunk so the connection can be reused
        out.ended = time.perf_counter_ns()
        return out
