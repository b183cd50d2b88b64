"""What each SageMaker container really answers is served, not refused as an unexpected shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = [pytest.mark.functional, pytest.mark.usefixtures("sagemaker_models")]


def sse(response: Any) -> list[Any]:
    frames = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
    return [f if f == "[DONE]" else json.loads(f) for f in frames]


def test_tgi_stop_sequence_finish_is_stop(client: TestClient, auth: dict[str, str]) -> None:
    body = {
        "model": "emu-tgi/test",
        "messages": [{"role": "user", "content": "one two END three"}],
        "stop": ["END"],
    }
    answer = client.post("/v1/chat/completions", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    choice = answer.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == "You said — one two"
    frames = sse(client.post("/v1/chat/completions", json={**body, "stream": True}, headers=auth))
    assert frames[-1] == "[DONE]"
    assert not any("error" in f for f in frames[:-1]), frames
    finishes = [c["choices"][0].get("finish_reason") for c in frames[:-1] if c["choices"]]
    assert finishes[-1] == "stop"


def test_tgi_gets_a_model_field(client: TestClient, auth: dict[str, str]) -> None:
    # The emulated TGI refuses a Messages body without `model`, as TGI before 2.2 does.
    body = {"model": "emu-tgi/test", "messages": [{"role": "user", "content": "hi"}]}
    response = client.post("/v1/chat/completions", json=body, headers=auth)
    assert response.status_code == 200, response.text


def test_completions_on_an_openai_container_pass_through_as_completions(
    client: TestClient, auth: dict[str, str]
) -> None:
    # The emulated vLLM continues a prompt ("Continuing: ...") and answers a chat with "You said".
    body = {"model": "emu-chat/test", "prompt": "once upon a time", "max_tokens": 16}
    answer = client.post("/v1/completions", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    completion = answer.json()
    assert completion["object"] == "text_completion"
    assert completion["model"] == "emu-chat/test"
    assert completion["choices"][0]["text"] == "Continuing: once upon a time"
    echoed = client.post("/v1/completions", json={**body, "echo": True}, headers=auth)
    assert echoed.status_code == 200, echoed.text
    assert echoed.json()["choices"][0]["text"] == "once upon a time Continuing: once upon a time"
    frames = sse(client.post("/v1/completions", json={**body, "stream": True}, headers=auth))
    assert frames[-1] == "[DONE]"
    text = "".join(c["choices"][0]["text"] for c in frames[:-1] if c["choices"])
    assert text == "Continuing: once upon a time"
    assert all(c["object"] == "text_completion" and "usage" not in c for c in frames[:-1])


def test_completions_on_tgi_still_go_through_chat(client: TestClient, auth: dict[str, str]) -> None:
    body = {"model": "emu-tgi/test", "prompt": "hello there"}
    answer = client.post("/v1/completions", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["text"] == "You said — hello there"


def _wav(seconds: float, rate: int = 8000) -> bytes:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(
            bytes(range(256)) * int(seconds * rate * 2 / 256) + b"\x00" * (int(seconds * rate * 2) % 256)
        )
    return buffer.getvalue()


def _transcribe(client: TestClient, auth: dict[str, str], audio: bytes, response_format: str) -> Any:
    return client.post(
        "/v1/audio/transcriptions",
        files={"file": ("speech.wav", audio, "audio/wav")},
        data={"model": "emu-whisper/test", "response_format": response_format},
        headers=auth,
    )


def test_an_open_last_timestamp_ends_with_the_audio(client: TestClient, auth: dict[str, str]) -> None:
    # The emulated pipeline, given a real WAV, leaves the last chunk's end open ([2.0, None]).
    audio = _wav(2.5)
    srt = _transcribe(client, auth, audio, "srt")
    assert srt.status_code == 200, srt.text
    assert srt.text.rstrip().split("\n\n")[-1].split("\n")[1] == "00:00:02,000 --> 00:00:02,500"
    vtt = _transcribe(client, auth, audio, "vtt")
    assert vtt.text.rstrip().split("\n\n")[-1].split("\n")[0] == "00:00:02.000 --> 00:00:02.500"
    verbose = _transcribe(client, auth, audio, "verbose_json").json()
    assert verbose["duration"] == 2.5
    assert verbose["segments"][-1]["end"] == 2.5
    assert "language" not in verbose  # unknown: omitted, not ""


def test_verbose_duration_is_the_audio_length_not_the_last_timestamp(
    client: TestClient, auth: dict[str, str]
) -> None:
    audio = _wav(3.2)
    verbose = _transcribe(client, auth, audio, "verbose_json").json()
    assert verbose["duration"] == 3.2
    assert verbose["segments"][-1]["end"] == 3.2


def test_a_classifier_with_more_classes_than_labels_is_a_502_naming_the_mismatch(
    client: TestClient, auth: dict[str, str]
) -> None:
    registration = {
        "id": "emu-two-labels/test",
        "endpoint_name": "relay-emu-classifier",  # answers three classes
        "flavour": "classifier",
        "labels": ["negative", "positive"],
        "check_endpoint": False,
        "overwrite": True,
    }
    assert client.post("/v1/admin/models", json=registration, headers=auth).status_code == 201
    response = client.post(
        "/v1/classification", json={"model": "emu-two-labels/test", "input": "fine"}, headers=auth
    )
    assert response.status_code == 502, response.text
    message = response.json()["error"]["message"]
    assert "3 classes but 2 labels" in message and "LABEL_2" in message
