"""The `bedrock-runtime` Converse and ConverseStream APIs on the real wire protocol.

`POST /model/{modelId}/converse` answers JSON; `/converse-stream` answers
`application/vnd.amazon.eventstream` frames, some split across HTTP chunks, so clients
must reassemble them as they would from AWS. Models come from `catalog.py`;
INFERENCE_PROFILE-only models answer only through their profile ids or ARNs, and
application inference profile ARNs reach Nova Lite.

The models are deterministic ("tokens" are whitespace-separated words):

- They echo the last user turn's text (images and documents appear as
  `[image png 67 bytes]` / `[document name pdf 12 bytes]`); an empty turn gets `Hello.`
- With tools configured, `call <tool_name>` in the user text calls that tool (several
  names → parallel calls), after a text block `I will call <names>.`; toolChoice `any`
  calls the first tool and `tool` the named one, without the text block. Tool input
  holds the schema's required properties: strings `<property>-1`, integers 1, numbers
  1.5, booleans true, enums their first value.
- A last turn of toolResult blocks is answered `The tool <name> returned <content>.`
- Claude 3.7 / Sonnet 4 with `additionalModelRequestFields.thinking` (budget ≥ 1024,
  below maxTokens) first emit reasoningContent `Let me think about: <first 8 words>`
  signed with an HMAC signature; reasoning blocks sent back must carry that signature,
  and with thinking on, an assistant tool-use turn must start with its reasoning block.
  Anthropic's redacted-thinking test string in the prompt adds a redactedContent block first.
  DeepSeek-R1 always reasons, unsigned.
- `outputConfig.textFormat` (models with structured output) answers JSON built from
  the schema with every property.
- `stopSequences` cut the text before the first match (stopReason stop_sequence; with
  `additionalModelResponseFieldPaths: ["/stop_sequence"]`, Claude models name it in
  `additionalModelResponseFields`, on the response and on messageStop);
  `maxTokens` keeps that many words (stopReason max_tokens).
- With guardrailConfig, user text containing `blocked` gets stopReason
  guardrail_intervened and `Sorry, the model cannot answer this question.`
- usage counts words; text before the last cachePoint is written to the prompt cache
  the first time (cacheWriteInputTokens) and read afterwards (cacheReadInputTokens).
- CountTokens (`/count-tokens`) answers the words of a `converse` input (system, tool specs,
  messages) for Claude models by their bare foundation model id, as on Bedrock; inference
  profile ids and other models get ValidationException.
- Streams: messageStart, per block contentBlockStart (tool use only), one
  contentBlockDelta per word (tool input in two halves, reasoning text then its
  signature), contentBlockStop, then messageStop and metadata (usage, metrics).

Validation follows Bedrock's (see `bedrock_checks`); faults and delays follow `faults`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from local.emulators import eventstream, faults
from local.emulators.bedrock_answers import Answer, answer, count_tokens
from local.emulators.bedrock_checks import Invalid, counting_model, resolve_model, validate
from local.emulators.server import AbortStream, Request, Response, Router, StreamResponse, aws_error

_WORD = re.compile(r"\S+\s*|\s+")
EVENTSTREAM = "application/vnd.amazon.eventstream"


def _prepare(request: Request, *, stream: bool) -> tuple[dict[str, Any], Answer] | Response:
    fault = faults.fault_response(request.body, faults.BEDROCK_FAULTS)
    if fault is not None:
        return fault
    try:
        body = json.loads(request.body or b"{}")
        model_id, traits = resolve_model(request.params["model_id"])
        budget = validate(body, traits, stream=stream)
    except Invalid as exc:
        return aws_error(400, "ValidationException", str(exc))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return aws_error(400, "ValidationException", f"Malformed input request: {exc!r}")
    return body, answer(body, model_id, traits, budget)


def converse(request: Request) -> Response:
    started = time.perf_counter()
    prepared = _prepare(request, stream=False)
    if isinstance(prepared, Response):
        return prepared
    body, result = prepared
    faults.sleep(faults.first_delay(request.body))
    answer_body: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": result.blocks}},
        "stopReason": result.stop_reason,
        "usage": result.usage,
        "metrics": {"latencyMs": int((time.perf_counter() - started) * 1000)},
    }
    answer_body.update(_response_fields(body, result, request.params["model_id"]))
    return Response.json(answer_body)


def _response_fields(body: dict[str, Any], result: Answer, model_id: str) -> dict[str, Any]:
    """additionalModelResponseFields asked for by path (Claude's `stop_sequence` only)."""
    paths = body.get("additionalModelResponseFieldPaths") or []
    if "/stop_sequence" not in paths or "anthropic." not in model_id:
        return {}
    return {"additionalModelResponseFields": {"stop_sequence": result.stop_sequence}}


def _events(result: Answer, fields: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "messageStart", {"role": "assistant"}
    for index, block in enumerate(result.blocks):
        if "toolUse" in block:
            tool = block["toolUse"]
            start = {"toolUse": {"toolUseId": tool["toolUseId"], "name": tool["name"]}}
            yield "contentBlockStart", {"start": start, "contentBlockIndex": index}
            raw = json.dumps(tool["input"])
            for piece in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
                if piece:
                    yield (
                        "contentBlockDelta",
                        {"delta": {"toolUse": {"input": piece}}, "contentBlockIndex": index},
                    )
        elif "redactedContent" in block.get("reasoningContent", {}):
            delta = {"reasoningContent": {"redactedContent": block["reasoningContent"]["redactedContent"]}}
            yield "contentBlockDelta", {"delta": delta, "contentBlockIndex": index}
        elif "reasoningContent" in block:
            reasoning = block["reasoningContent"]["reasoningText"]
            for word in _WORD.findall(reasoning["text"]):
                delta = {"reasoningContent": {"text": word}}
                yield "contentBlockDelta", {"delta": delta, "contentBlockIndex": index}
            if "signature" in reasoning:
                delta = {"reasoningContent": {"signature": reasoning["signature"]}}
                yield "contentBlockDelta", {"delta": delta, "contentBlockIndex": index}
        else:
            for word in _WORD.findall(block["text"]):
                yield "contentBlockDelta", {"delta": {"text": word}, "contentBlockIndex": index}
        yield "contentBlockStop", {"contentBlockIndex": index}
    yield "messageStop", {"stopReason": result.stop_reason, **fields}


def _frames(request: Request, body: dict[str, Any], result: Answer, started: float) -> Iterator[bytes]:
    fault = faults.requested_fault(request.body)
    events = list(_events(result, _response_fields(body, result, request.params["model_id"])))
    fail_at = len(events) // 2 if fault in faults.STREAM_FAULTS else -1
    faults.sleep(faults.first_delay(request.body))
    gap = faults.chunk_delay()
    for position, (kind, payload) in enumerate(events):
        if position == fail_at:
            if fault == "stream-break":
                raise AbortStream
            yield eventstream.exception("modelStreamErrorException", "Emulated fault: stream-error")
            return
        if position and gap:
            time.sleep(gap)
        frame = eventstream.event(kind, payload)
        if position % 4 == 1:
            # Frames need not align with reads: split some across two HTTP chunks.
            yield frame[:7]
            frame = frame[7:]
        yield frame
    metrics = {"latencyMs": int((time.perf_counter() - started) * 1000)}
    yield eventstream.event("metadata", {"usage": result.usage, "metrics": metrics})


def converse_stream(request: Request) -> Response | StreamResponse:
    started = time.perf_counter()
    prepared = _prepare(request, stream=True)
    if isinstance(prepared, Response):
        return prepared
    body, result = prepared
    return StreamResponse(_frames(request, body, result, started), headers={"Content-Type": EVENTSTREAM})


def count(request: Request) -> Response:
    fault = faults.fault_response(request.body, faults.BEDROCK_FAULTS)
    if fault is not None:
        return fault
    try:
        body = json.loads(request.body or b"{}")
        _, traits = counting_model(request.params["model_id"])
        converse_input = body["input"]["converse"]
        # Generation settings (a thinking budget) do not apply to counting.
        checked = {k: v for k, v in converse_input.items() if k != "additionalModelRequestFields"}
        validate(checked, traits, stream=False)
    except Invalid as exc:
        return aws_error(400, "ValidationException", str(exc))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return aws_error(400, "ValidationException", f"Malformed input request: {exc!r}")
    return Response.json({"inputTokens": count_tokens(converse_input)})


def register(router: Router) -> None:
    router.add("POST", "/model/(?P<model_id>.+)/count-tokens", count)
    router.add("POST", "/model/(?P<model_id>.+)/converse", converse)
    router.add("POST", "/model/(?P<model_id>.+)/converse-stream", converse_stream)
