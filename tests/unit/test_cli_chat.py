"""`relay chat`: streaming replies, reasoning, history, /reset and /system, errors (a fake server, no network)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from relay_cli.main import run

pytestmark = pytest.mark.unit

BASE = "http://relay.test/v1"


def sse(*deltas: dict[str, Any]) -> bytes:
    chunks = [
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": d}],
        }
        for d in deltas
    ]
    usage = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in [*chunks, usage]) + b"data: [DONE]\n\n"


class FakeChat:
    """Answers each chat request by echoing the last user turn; records the messages it got."""

    def __init__(self, reasoning: str | None = None, fail: dict[str, Any] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reasoning, self.fail = reasoning, fail

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        if self.fail:
            return httpx2.Response(404, json=self.fail)
        last = body["messages"][-1]["content"]
        deltas = ([{"reasoning_content": self.reasoning}] if self.reasoning else []) + [
            {"content": f"echo {last}"}
        ]
        return httpx2.Response(200, content=sse(*deltas), headers={"content-type": "text/event-stream"})


def relay(
    fake: FakeChat, *args: str, capsys: pytest.CaptureFixture[str], stdin: str = ""
) -> tuple[int, str, str]:
    client = httpx2.Client(transport=httpx2.MockTransport(fake))
    obj = {
        "openai_http_client": client,
        "env": {"OPENAI_BASE_URL": BASE, "OPENAI_API_KEY": "k"},
        "cwd": Path("/"),
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as exit_info:
            run(list(args), obj=obj)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_one_message_streams_the_reply(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeChat()
    code, out, _ = relay(
        fake, "chat", "amazon.nova-lite-v1:0", "-m", "hi", "--max-tokens", "5", capsys=capsys
    )
    assert code == 0 and out.strip() == "echo hi"
    (request,) = fake.requests
    assert request["stream"] is True and request["max_tokens"] == 5
    assert request["messages"] == [{"role": "user", "content": "hi"}]


def test_json_carries_reply_reasoning_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = relay(
        FakeChat(reasoning="thinking it over"), "chat", "r1", "-m", "hi", "--json", capsys=capsys
    )
    assert code == 0
    assert json.loads(out) == {
        "model": "r1",
        "content": "echo hi",
        "reasoning_content": "thinking it over",
        "usage": {
            "prompt_tokens": 3,
            "completion_tokens": 2,
            "total_tokens": 5,
            "completion_tokens_details": None,
            "prompt_tokens_details": None,
        },
    }


def test_interactive_keeps_history_and_obeys_reset_and_system(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeChat()
    stdin = "first\nsecond\n/system be brief\nthird\n/reset\nfourth\n/exit\n"
    code, out, err = relay(fake, "chat", "m", capsys=capsys, stdin=stdin)
    assert code == 0
    first, second, third, fourth = (r["messages"] for r in fake.requests)
    assert first == [{"role": "user", "content": "first"}]
    assert second == [
        *first,
        {"role": "assistant", "content": "echo first"},
        {"role": "user", "content": "second"},
    ]
    assert third[0] == {"role": "system", "content": "be brief"} and third[-1]["content"] == "third"
    assert len(third) == 6  # system + two full turns + the new question
    assert fourth == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "fourth"}]
    assert "History cleared" in err and "echo fourth" in out


def test_an_error_mid_chat_keeps_the_session(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeChat(
        fail={
            "error": {
                "message": "The model 'm' does not exist",
                "type": "invalid_request_error",
                "code": "model_not_found",
            }
        }
    )
    code, _, err = relay(fake, "chat", "m", capsys=capsys, stdin="hello\n")
    assert code == 0 and "The model 'm' does not exist (HTTP 404)" in err


def test_one_message_error_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeChat(
        fail={
            "error": {
                "message": "The model 'm' does not exist",
                "type": "invalid_request_error",
                "code": None,
            }
        }
    )
    code, _, err = relay(fake, "chat", "m", "-m", "hi", capsys=capsys)
    assert code == 1 and "does not exist (HTTP 404)" in err and "Traceback" not in err
