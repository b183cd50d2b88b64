"""The bench's floor: the cheapest reasonable Python gateway from OpenAI's chat API to Bedrock.

A raw ASGI app (no framework, no models, no validation, no auth, no metering, no logs),
served by the same uvicorn command as Relay. It maps the request's messages to Converse
with json and a boto3 client, calls it on a worker thread, and answers OpenAI's shape;
with `"stream": true` one worker thread reads ConverseStream and hands each event to the
loop, which writes it as one SSE frame at once. The boto3 client and the thread pool are
sized as Relay's are, so Relay minus this floor is what Relay's own code costs.

Only the bench starts it (`uvicorn --app-dir bench floor:app`); the product never imports it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import boto3
from botocore.config import Config

# Relay's settings for model calls (relay/backends/aws.py); the endpoint and region come from
# the standard AWS_* variables, which botocore reads itself.
CLIENT = boto3.session.Session().client(
    "bedrock-runtime",
    config=Config(
        read_timeout=900,
        connect_timeout=5,
        retries={"mode": "standard", "max_attempts": 1},
        max_pool_connections=64,
        tcp_keepalive=True,
    ),
)
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
JSON = [(b"content-type", b"application/json")]
SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_END = object()

Send = Any  # the ASGI callables, untyped here as in any bare ASGI app


def converse_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    system: list[dict[str, str]] = []
    messages: list[dict[str, Any]] = []
    for message in body["messages"]:
        content = message.get("content") or ""
        if isinstance(content, str):
            blocks = [{"text": content}]
        else:
            blocks = [{"text": part["text"]} for part in content if part.get("type") == "text"]
        if message["role"] in ("system", "developer"):
            system += blocks
        else:
            messages.append({"role": message["role"], "content": blocks})
    kwargs: dict[str, Any] = {"modelId": body["model"], "messages": messages}
    if system:
        kwargs["system"] = system
    config = {"maxTokens": body.get("max_completion_tokens") or body.get("max_tokens")}
    config |= {"temperature": body.get("temperature"), "topP": body.get("top_p")}
    stop = body.get("stop")
    config["stopSequences"] = [stop] if isinstance(stop, str) else stop
    if config := {k: v for k, v in config.items() if v is not None}:
        kwargs["inferenceConfig"] = config
    return kwargs


async def respond(send: Send, status: int, answer: object) -> None:
    body = json.dumps(answer).encode()
    headers = [*JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def complete(send: Send, kwargs: dict[str, Any]) -> None:
    try:
        raw = await asyncio.get_running_loop().run_in_executor(None, partial(CLIENT.converse, **kwargs))
    except Exception as exc:  # botocore's errors
        return await respond(send, 502, {"error": {"message": str(exc), "type": "upstream_error"}})
    usage = raw["usage"]
    text = "".join(block.get("text", "") for block in raw["output"]["message"]["content"])
    choice = {"index": 0, "message": {"role": "assistant", "content": text}}
    choice["finish_reason"] = FINISH.get(raw["stopReason"], "stop")
    answer = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time())}
    answer |= {"model": kwargs["modelId"], "choices": [choice]}
    answer["usage"] = {
        "prompt_tokens": usage["inputTokens"],
        "completion_tokens": usage["outputTokens"],
        "total_tokens": usage["totalTokens"],
    }
    await respond(send, 200, answer)


async def stream(send: Send, kwargs: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def read() -> None:  # on a worker thread: botocore's event stream blocks
        try:
            for event in CLIENT.converse_stream(**kwargs)["stream"]:
                loop.call_soon_threadsafe(queue.put_nowait, event)
        except Exception as exc:
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        loop.call_soon_threadsafe(queue.put_nowait, _END)

    reader = loop.run_in_executor(None, read)
    head: dict[str, Any] = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk"}
    head |= {"created": int(time.time()), "model": kwargs["modelId"]}
    started = False
    while (event := await queue.get()) is not _END:
        if isinstance(event, Exception):
            error = {"error": {"message": str(event), "type": "upstream_error"}}
            if not started:  # failed before the first event: the status can still say so
                await respond(send, 502, error)
                return await reader
            frame = b"data: " + json.dumps(error).encode() + b"\n\n"  # then [DONE], as Relay ends
            await send({"type": "http.response.body", "body": frame, "more_body": True})
            break
        if not started:
            await send({"type": "http.response.start", "status": 200, "headers": SSE})
            started = True
        if "contentBlockDelta" in event:
            delta: dict[str, Any] = {"content": event["contentBlockDelta"]["delta"].get("text")}
            if not delta["content"]:
                continue
            finish = None
        elif "messageStart" in event:
            delta, finish = {"role": "assistant", "content": ""}, None
        elif "messageStop" in event:
            delta, finish = {}, FINISH.get(event["messageStop"]["stopReason"], "stop")
        else:
            continue
        chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        frame = b"data: " + json.dumps(chunk).encode() + b"\n\n"
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
    await reader


async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()  # lifespan.startup
        # Relay's Converse pool has 64 threads (relay/backends/bedrock/chat.py); so has this one.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(64))
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        return await send({"type": "lifespan.shutdown.complete"})
    if scope["method"] == "GET" and scope["path"] == "/health":
        return await respond(send, 200, {"status": "ok"})
    if scope["method"] != "POST" or scope["path"] != "/v1/chat/completions":
        return await respond(send, 404, {"error": {"message": "not found"}})
    parts = [(message := await receive()).get("body", b"")]
    while message.get("more_body"):
        parts.append((message := await receive()).get("body", b""))
    body = json.loads(b"".join(parts))
    await (stream if body.get("stream") else complete)(send, converse_kwargs(body))
