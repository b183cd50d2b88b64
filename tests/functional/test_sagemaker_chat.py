"""Chat and completions on registered SageMaker endpoints, streamed through split PayloadParts."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = [pytest.mark.functional, pytest.mark.usefixtures("sagemaker_models")]


def sse(response: Any) -> list[Any]:
    frames = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
    return [f if f == "[DONE]" else json.loads(f) for f in frames]


@pytest.mark.parametrize("model", ["emu-chat/test", "emu-tgi/test"])
def test_chat_completion(client: Any, auth: dict[str, str], model: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "héllo wörld"}]}
    response = client.post("/v1/chat/completions", json=body, headers=auth)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == model
    assert answer["choices"][0]["message"]["content"] == "You said — héllo wörld"
    assert answer["usage"]["completion_tokens"] == 5


@pytest.mark.parametrize("model", ["emu-chat/test", "emu-tgi/test"])
def test_stream_reassembles_split_parts(client: Any, auth: dict[str, str], model: str) -> None:
    text = "naïve café — résumé " * 5
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": True}
    response = client.post("/v1/chat/completions", json=body, headers=auth)
    assert response.status_code == 200
    frames = sse(response)
    assert frames[-1] == "[DONE]"
    chunks = frames[:-1]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert content == "You said — " + " ".join(text.split())
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["model"] == model for c in chunks)
    assert all("usage" not in c for c in chunks)  # not asked for


def test_stream_usage_when_asked(client: Any, auth: dict[str, str]) -> None:
    body = {
        "model": "emu-chat/test",
        "messages": [{"role": "user", "content": "one two three"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 4,
    }
    frames = sse(client.post("/v1/chat/completions", json=body, headers=auth))
    assert frames[-2]["usage"]["completion_tokens"] == 4
    assert any(c["choices"] and c["choices"][0].get("finish_reason") == "length" for c in frames[:-1])


def test_vision_parts_reach_the_container(client: Any, auth: dict[str, str]) -> None:
    content = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    body = {"model": "emu-chat/test", "messages": [{"role": "user", "content": content}]}
    answer = client.post("/v1/chat/completions", json=body, headers=auth).json()
    assert answer["choices"][0]["message"]["content"].endswith("[1 image(s)]")


def test_completions_on_sagemaker(client: Any, auth: dict[str, str]) -> None:
    body = {"model": "emu-chat/test", "prompt": "tell me"}
    response = client.post("/v1/completions", json=body, headers=auth)
    assert response.status_code == 200, response.text
    assert "tell me" in response.json()["choices"][0]["text"]


def test_unsupported_parameters_are_refused(client: Any, auth: dict[str, str]) -> None:
    base = {"messages": [{"role": "user", "content": "x"}]}
    tgi = client.post(
        "/v1/chat/completions", json={**base, "model": "emu-tgi/test", "top_k": 5}, headers=auth
    )
    assert tgi.status_code == 400 and tgi.json()["error"]["param"] == "top_k"
    guard = {**base, "model": "emu-chat/test", "cache_system_prompt": True}
    assert (
        client.post("/v1/chat/completions", json=guard, headers=auth).json()["error"]["param"]
        == "cache_system_prompt"
    )


def test_errors_before_and_after_the_first_byte(client: Any, auth: dict[str, str]) -> None:
    def ask(text: str, model: str = "emu-chat/test", stream: bool = False) -> Any:
        body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}
        return client.post("/v1/chat/completions", json=body, headers=auth)

    assert ask("[[fault:model-error]]").status_code == 502
    assert ask("[[fault:model-error]]", stream=True).status_code == 502
    throttled = ask("[[fault:throttle]]")
    assert throttled.status_code == 429 and throttled.headers["retry-after"]
    not_ready = ask("[[fault:not-ready]]")
    assert not_ready.status_code == 503 and not_ready.headers["retry-after"]
    assert ask("[[fault:dependency]]").status_code == 503
    gone = ask("hello", model="emu-gone/test")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "model_not_found"
    empty = client.post(
        "/v1/chat/completions",
        json={"model": "emu-chat/test", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1},
        headers=auth,
    )
    assert empty.status_code == 200
    broken = ask("a b c d e f g h i j k l m n o p [[fault:stream-error]]", stream=True)
    assert broken.status_code == 200
    frames = sse(broken)
    assert frames[-1] == "[DONE]" and "error" in frames[-2]
