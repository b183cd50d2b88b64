"""The deterministic emulated models: what they answer to a validated Converse request.

See `bedrock_runtime`'s docstring for the behaviour users rely on. Tokens are
whitespace-separated words, everywhere (usage, maxTokens truncation, stream deltas).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from local.emulators.bedrock_checks import Traits, sign

_CALL = re.compile(r"\bcall\s+([A-Za-z0-9_-]+)")
_BLOCKED = "blocked"  # guardrails intervene when the user text contains this word
# Anthropic's documented test string: Claude answers it with a redacted_thinking block.
REDACTION_TRIGGER = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
GUARDRAIL_MESSAGE = "Sorry, the model cannot answer this question."


@dataclass
class Answer:
    blocks: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = "end_turn"
    usage: dict[str, int] = field(default_factory=dict)
    stop_sequence: str | None = None  # the one that cut the text


class PromptCache:
    """Prefixes seen before a cachePoint: a second identical prefix is a cache read."""

    def __init__(self, size: int = 1024) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return True
            self._seen[key] = None
            if len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return False


CACHE = PromptCache()


def _words(text: str) -> int:
    return len(text.split())


def _block_tokens(block: dict[str, Any]) -> int:
    if "text" in block:
        return _words(block["text"])
    if "toolResult" in block:
        return sum(_words(c.get("text") or json.dumps(c.get("json"))) for c in block["toolResult"]["content"])
    if "toolUse" in block:
        return _words(json.dumps(block["toolUse"]["input"]))
    if "reasoningContent" in block:
        return _words(block["reasoningContent"].get("reasoningText", {}).get("text", ""))
    return 0 if "cachePoint" in block else 1  # an image or a document counts as one token


def _usage(body: dict[str, Any], model_id: str, output_tokens: int) -> dict[str, int]:
    # Walk system, tools and messages in order; tokens before the last cachePoint are the
    # cacheable prefix (written the first time it is seen, read afterwards).
    blocks: list[dict[str, Any]] = list(body.get("system") or [])
    blocks += [
        {"text": json.dumps(t)} if "toolSpec" in t else t
        for t in (body.get("toolConfig") or {}).get("tools", [])
    ]
    for message in body.get("messages") or []:
        blocks += message["content"]
    total, prefix, prefix_key = 0, 0, ""
    digest = hashlib.sha256()
    for block in blocks:
        if "cachePoint" in block:
            prefix, prefix_key = total, digest.hexdigest()
            continue
        total += _block_tokens(block)
        digest.update(json.dumps(block, sort_keys=True, default=str).encode())
    usage = {"inputTokens": total - prefix, "outputTokens": output_tokens}
    if prefix_key:
        read = CACHE.hit(f"{model_id}:{prefix_key}")
        usage["cacheReadInputTokens"] = prefix if read else 0
        usage["cacheWriteInputTokens"] = 0 if read else prefix
    usage["totalTokens"] = total + output_tokens
    return usage


def count_tokens(body: dict[str, Any]) -> int:
    """CountTokens: the input tokens a Converse request would be billed, caching aside."""
    blocks: list[dict[str, Any]] = [b for b in body.get("system") or [] if "cachePoint" not in b]
    blocks += [
        {"text": json.dumps(t)} for t in (body.get("toolConfig") or {}).get("tools", []) if "toolSpec" in t
    ]
    for message in body.get("messages") or []:
        blocks += message["content"]
    return sum(_block_tokens(b) for b in blocks)


def _sample(schema: dict[str, Any], name: str, *, required_only: bool) -> Any:
    """A value that satisfies `schema`, the same every time."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        keys = schema.get("required", []) if required_only else list(props)
        return {k: _sample(props.get(k, {}), k, required_only=required_only) for k in keys}
    if kind == "array":
        return [_sample(schema.get("items", {}), name, required_only=required_only)]
    return {"string": f"{name}-1", "integer": 1, "number": 1.5, "boolean": True}.get(kind)


def _size(encoded: str) -> int:
    # Blobs travel base64-encoded in the JSON body.
    return len(base64.b64decode(encoded)) if encoded else 0


def _user_text(message: dict[str, Any]) -> str:
    parts = [b["text"] for b in message["content"] if "text" in b]
    for block in message["content"]:
        if "image" in block:
            image = block["image"]
            parts.append(f"[image {image['format']} {_size(image['source'].get('bytes', ''))} bytes]")
        elif "document" in block:
            doc = block["document"]
            size = (
                _size(doc["source"]["bytes"])
                if "bytes" in doc["source"]
                else len(doc["source"].get("text", ""))
            )
            parts.append(f"[document {doc['name']} {doc.get('format', 'txt')} {size} bytes]")
    return " ".join(parts)


def _tool_summary(messages: list[dict[str, Any]]) -> str:
    names = {}
    if len(messages) >= 2:
        names = {
            b["toolUse"]["toolUseId"]: b["toolUse"]["name"] for b in messages[-2]["content"] if "toolUse" in b
        }
    parts = []
    for block in messages[-1]["content"]:
        if "toolResult" in block:
            result = block["toolResult"]
            content = " ".join(c.get("text") or json.dumps(c.get("json")) for c in result["content"])
            parts.append(f"{names.get(result['toolUseId'], result['toolUseId'])} returned {content}")
    return "The tool " + "; ".join(parts) + "."


def _tool_calls(body: dict[str, Any], text: str, turn: int) -> list[dict[str, Any]]:
    config = body.get("toolConfig") or {}
    specs = {t["toolSpec"]["name"]: t["toolSpec"] for t in config.get("tools", []) if "toolSpec" in t}
    choice = config.get("toolChoice") or {}
    if "tool" in choice:
        names = [choice["tool"]["name"]]
    else:
        names = [n for n in dict.fromkeys(_CALL.findall(text)) if n in specs]
        if not names and "any" in choice and specs:
            names = [next(iter(specs))]
    return [
        {"toolUse": {
            "toolUseId": f"tooluse_{turn:02d}{i}_{hashlib.sha1(name.encode()).hexdigest()[:12]}",  # noqa: S324
            "name": name,
            "input": _sample(specs[name].get("inputSchema", {}).get("json", {}), name, required_only=True),
        }}
        for i, name in enumerate(names) if name in specs
    ]  # fmt: skip


def _truncate(text: str, body: dict[str, Any]) -> tuple[str, str, str | None]:
    config = body.get("inferenceConfig") or {}
    reason, matched = "end_turn", None
    for stop in config.get("stopSequences") or []:
        at = text.find(stop)
        if at >= 0:
            text, reason, matched = text[:at], "stop_sequence", stop
    limit = config.get("maxTokens")
    if limit is not None and _words(text) > limit:
        # Keep the whitespace between kept words, so streamed deltas concatenate the same.
        spans = list(re.finditer(r"\S+\s*", text))[:limit]
        text, reason, matched = "".join(m.group(0) for m in spans).rstrip(), "max_tokens", None
    return text, reason, matched


def answer(body: dict[str, Any], model_id: str, traits: Traits, budget: int) -> Answer:
    """The emulated model's reply to a request `validate` accepted."""
    messages = body["messages"]
    last = messages[-1]
    text = _user_text(last) if last["role"] == "user" else ""
    out = Answer()
    if body.get("guardrailConfig") and _BLOCKED in text.lower():
        out.blocks, out.stop_reason = [{"text": GUARDRAIL_MESSAGE}], "guardrail_intervened"
        out.usage = _usage(body, model_id, _words(GUARDRAIL_MESSAGE))
        return out
    if budget or traits.reasoning == "always":
        thought = "Let me think about: " + " ".join(text.split()[:8])
        if budget:
            thought = " ".join(thought.split()[:budget])
        reasoning: dict[str, Any] = {"text": thought}
        if traits.signed_reasoning:
            reasoning["signature"] = sign(thought)
            if REDACTION_TRIGGER in text:  # opaque bytes, base64 in JSON as Bedrock sends blobs
                opaque = base64.b64encode(b"redacted:" + sign(thought).encode()).decode()
                out.blocks.append({"reasoningContent": {"redactedContent": opaque}})
        out.blocks.append({"reasoningContent": {"reasoningText": reasoning}})
    calls = [] if any("toolResult" in b for b in last["content"]) else _tool_calls(body, text, len(messages))
    forced = bool({"any", "tool"} & set((body.get("toolConfig") or {}).get("toolChoice") or {}))
    output_format = (body.get("outputConfig") or {}).get("textFormat")
    if calls:
        if not forced:
            out.blocks.append(
                {"text": "I will call " + " and ".join(c["toolUse"]["name"] for c in calls) + "."}
            )
        out.blocks += calls
        out.stop_reason = "tool_use"
    else:
        if any("toolResult" in b for b in last["content"]):
            reply = _tool_summary(messages)
        elif output_format:
            schema = json.loads(output_format["structure"]["jsonSchema"]["schema"])
            reply = json.dumps(_sample(schema, "value", required_only=False))
        else:
            reply = text or "Hello."
        reply, out.stop_reason, out.stop_sequence = _truncate(reply, body)
        if reply:
            out.blocks.append({"text": reply})
    out.usage = _usage(body, model_id, sum(_block_tokens(b) for b in out.blocks))
    return out
