"""What each emulated SageMaker container answers: OpenAI-compatible (vLLM-like), TGI,
TEI embeddings, TEI rerank, a TEI-style classifier and a Whisper server.

Replies are deterministic: chat echoes the last user message word by word ("You said — …",
with the number of images it saw), so tests can predict every token.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import wave
from typing import Any

from local.emulators import vectors

SERVED_MODEL = "emulated-model"
EMBEDDING_DIMENSIONS = 384
CLASSIFIER_LABELS = ("LABEL_0", "LABEL_1", "LABEL_2")


class ContainerError(Exception):
    """The container refused the request; SageMaker wraps this as ModelError."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _text_of(content: Any) -> tuple[str, int]:
    if isinstance(content, str):
        return content, 0
    texts, images = [], 0
    for part in content or []:
        if part.get("type") == "text":
            texts.append(part.get("text", ""))
        elif part.get("type") == "image_url":
            images += 1
    return " ".join(texts), images


def _reply_words(body: dict[str, Any]) -> tuple[list[str], int, str]:
    """The reply's words, the prompt's token count and the finish reason."""
    if "messages" in body:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            raise ContainerError(400, "messages must be a non-empty list")
        prompt_tokens = sum(vectors.token_count(_text_of(m.get("content"))[0]) + 3 for m in messages)
        users = [m for m in messages if m.get("role") == "user"]
        text, images = _text_of(users[-1].get("content")) if users else ("", 0)
        reply = ["You", "said", "—", *text.split()]
        if images:
            reply += [f"[{images}", "image(s)]"]
    else:
        prompt = body.get("prompt", body.get("inputs"))
        if not isinstance(prompt, str):
            raise ContainerError(422, "prompt must be a string")
        prompt_tokens = vectors.token_count(prompt)
        reply = ["Continuing:", *prompt.split()]
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    limit = limit or (body.get("parameters") or {}).get("max_new_tokens")
    if isinstance(limit, int) and 0 < limit < len(reply):
        return reply[:limit], prompt_tokens, "length"
    return reply, prompt_tokens, "stop"


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def openai(body: dict[str, Any], stream: bool) -> Any:
    if "input" in body:
        return _openai_embeddings(body)
    words, prompt_tokens, finish = _reply_words(body)
    model = body.get("model") or SERVED_MODEL
    chat = "messages" in body
    kind = "chat.completion" if chat else "text_completion"
    if not stream:
        text = " ".join(words)
        if not chat and body.get("echo"):
            text = f"{body['prompt']} {text}"
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
        choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
        return {
            "id": "cmpl-emulated",
            "object": kind,
            "created": 1700000000,
            "model": model,
            "choices": [choice],
            "usage": _usage(prompt_tokens, len(words)),
        }
    frames: list[Any] = []
    base = {
        "id": "cmpl-emulated",
        "object": kind + ".chunk" if chat else kind,
        "created": 1700000000,
        "model": model,
    }
    if chat:
        frames.append(
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
        )
    for i, word in enumerate(words):
        piece = word if i == 0 else " " + word
        delta: dict[str, Any] = {"delta": {"content": piece}} if chat else {"text": piece}
        frames.append({**base, "choices": [{"index": 0, **delta, "finish_reason": None}]})
    last: dict[str, Any] = {"delta": {}} if chat else {"text": ""}
    frames.append({**base, "choices": [{"index": 0, **last, "finish_reason": finish}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        frames.append({**base, "choices": [], "usage": _usage(prompt_tokens, len(words))})
    return [*frames, "[DONE]"]


def _openai_embeddings(body: dict[str, Any]) -> dict[str, Any]:
    raw = body["input"]
    items = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
    dimensions = body.get("dimensions") or EMBEDDING_DIMENSIONS
    if not isinstance(dimensions, int) or not 0 < dimensions <= EMBEDDING_DIMENSIONS:
        raise ContainerError(400, f"dimensions must be between 1 and {EMBEDDING_DIMENSIONS}")
    data, tokens = [], 0
    for index, item in enumerate(items):
        text = " ".join(f"t{t}" for t in item) if isinstance(item, list) else str(item)
        tokens += len(item) if isinstance(item, list) else vectors.token_count(text)
        vector = vectors.embed(text, EMBEDDING_DIMENSIONS)[:dimensions]
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        data.append({"object": "embedding", "index": index, "embedding": [v / norm for v in vector]})
    return {
        "object": "list",
        "data": data,
        "model": body.get("model") or SERVED_MODEL,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _tgi_messages(body: dict[str, Any], stream: bool) -> Any:
    """TGI's Messages API: OpenAI's shapes, but `model` required (before 2.2) and a stop
    sequence reported as `stop_sequence`."""
    if "model" not in body:
        raise ContainerError(
            422, "Failed to deserialize the JSON body into the target type: missing field `model`"
        )
    stops = body.get("stop") or []
    stops = [stops] if isinstance(stops, str) else stops
    answer = openai(body, stream)
    users = [m for m in body["messages"] if m.get("role") == "user"]
    said = _text_of(users[-1].get("content"))[0].split() if users else []
    hit = next((i for i, word in enumerate(said) if word in stops), None)
    if hit is None:
        return answer
    kept = 3 + hit  # "You said —" and the words before the stop sequence
    if not stream:
        choice = answer["choices"][0]
        choice["message"]["content"] = " ".join(choice["message"]["content"].split()[:kept])
        choice["finish_reason"] = "stop_sequence"
        return answer
    frames = [f for f in answer if f != "[DONE]"]
    # frames: role, one per word, the final (finish) frame, maybe usage
    words, rest = frames[1 : 1 + kept], frames[len(frames) - (2 if "usage" in frames[-1] else 1) :]
    rest[0]["choices"][0]["finish_reason"] = "stop_sequence"
    return [frames[0], *words, *rest, "[DONE]"]


def tgi(body: dict[str, Any], stream: bool) -> Any:
    if "messages" in body:
        return _tgi_messages(body, stream)
    if not isinstance(body.get("inputs"), str):
        raise ContainerError(422, "Failed to deserialize the JSON body: missing field `inputs`")
    words, prompt_tokens, finish = _reply_words(body)
    reason = "length" if finish == "length" else "eos_token"
    details = {"finish_reason": reason, "generated_tokens": len(words), "input_length": prompt_tokens}
    text = " ".join(words)
    if not stream:
        return [{"generated_text": text, "details": details}]
    frames: list[Any] = []
    for i, word in enumerate(words):
        token = {"id": i, "text": word if i == 0 else " " + word, "logprob": -0.5, "special": False}
        final = i == len(words) - 1
        frames.append(
            {
                "index": i + 1,
                "token": token,
                "generated_text": text if final else None,
                "details": details if final else None,
            }
        )
    return frames


def tei_embedding(body: dict[str, Any], stream: bool) -> Any:
    inputs = body.get("inputs")
    if inputs is None or inputs == []:
        raise ContainerError(422, "`inputs` cannot be empty")
    if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
        inputs = [inputs]
    normalize = body.get("normalize", True)
    out = []
    for item in inputs:
        text = " ".join(f"t{t}" for t in item) if isinstance(item, list) else str(item)
        out.append(vectors.embed(text, EMBEDDING_DIMENSIONS, normalize=normalize))
    return out


def tei_rerank(body: dict[str, Any], stream: bool) -> Any:
    query, texts = body.get("query"), body.get("texts")
    if not isinstance(query, str) or not isinstance(texts, list) or not texts:
        raise ContainerError(422, "rerank needs `query` and a non-empty `texts` list")
    ranked = []
    for index, text in enumerate(texts):
        score = vectors.relevance(query, text)
        item: dict[str, Any] = {"index": index, "score": score}
        if body.get("raw_scores"):
            item["score"] = round(math.log(max(score, 1e-6) / max(1 - score, 1e-6)), 6)
        if body.get("return_text"):
            item["text"] = text
        ranked.append(item)
    return sorted(ranked, key=lambda r: -r["score"])


def classifier(body: dict[str, Any], stream: bool) -> Any:
    inputs = body.get("inputs")
    if not isinstance(inputs, str | list) or inputs in ("", []):
        raise ContainerError(422, "`inputs` must be a string or a list of strings")
    batch = inputs if isinstance(inputs, list) else [inputs]
    results = []
    for text in batch:
        digest = vectors.embed(str(text), 16)
        logits = [round(digest[i] * 4, 6) for i in range(len(CLASSIFIER_LABELS))]
        peak = max(logits)
        exps = [math.exp(v - peak) for v in logits]
        probs = [round(e / sum(exps), 6) for e in exps]
        scores = logits if body.get("raw_scores") else probs
        ranked = sorted(zip(CLASSIFIER_LABELS, scores, strict=True), key=lambda pair: -pair[1])
        results.append([{"label": label, "score": score} for label, score in ranked])
    return results if isinstance(inputs, list) else results[0]


def whisper(body: dict[str, Any], stream: bool) -> Any:
    try:
        audio = base64.b64decode(body.get("inputs", ""), validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ContainerError(400, "inputs must be base64-encoded audio") from exc
    if not audio:
        raise ContainerError(400, "inputs must be base64-encoded audio")
    parameters = body.get("parameters") or {}
    seconds = _wav_seconds(audio)
    if seconds is not None:
        return _pipeline_answer(audio, seconds, parameters)
    segments = vectors.transcript(audio)
    result: dict[str, Any] = {
        "text": " ".join(s[2] for s in segments),
        "language": parameters.get("language") or "en",
    }
    if parameters.get("return_timestamps"):
        result["chunks"] = [{"timestamp": [s[0], s[1]], "text": s[2]} for s in segments]
    return result


def _wav_seconds(audio: bytes) -> float | None:
    try:
        with wave.open(io.BytesIO(audio)) as wav:
            return wav.getnframes() / wav.getframerate()
    except (wave.Error, EOFError):
        return None


def _pipeline_answer(audio: bytes, seconds: float, parameters: dict[str, Any]) -> dict[str, Any]:
    """A real WAV gets what the transformers ASR pipeline answers: chunks one second apart,
    the last one's end left open, and no language unless one was asked for."""
    segments = vectors.transcript(audio, seconds_per_segment=1.0)[: max(1, math.ceil(seconds))]
    result: dict[str, Any] = {"text": " ".join(s[2] for s in segments)}
    if parameters.get("language"):
        result["language"] = parameters["language"]
    if parameters.get("return_timestamps"):
        result["chunks"] = [
            {"timestamp": [s[0], None if i == len(segments) - 1 else s[1]], "text": s[2]}
            for i, s in enumerate(segments)
        ]
    return result


FLAVOURS = {
    "openai": openai,
    "tgi": tgi,
    "tei-embedding": tei_embedding,
    "tei-rerank": tei_rerank,
    "classifier": classifier,
    "whisper": whisper,
}


def stream_bytes(frames: Any) -> bytes:
    """A container's streamed output: SSE frames (JSON objects, or the literal [DONE])."""
    if not isinstance(frames, list):
        return json.dumps(frames).encode()
    out = bytearray()
    for frame in frames:
        data = frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False)
        out += f"data: {data}\n\n".encode()
    return bytes(out)
