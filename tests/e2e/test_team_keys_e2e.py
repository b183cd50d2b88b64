"""Team keys through the real openai SDK against uvicorn on loopback: allowed and refused
models, the RPM 429 with its headers and no upstream call, the budget's insufficient_quota,
/v1/usage equal to the responses' usage, member scoping on projects, PATCH taking effect."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

pytestmark = pytest.mark.e2e

NOVA = "amazon.nova-lite-v1:0"
LLAMA = "meta.llama3-1-8b-instruct-v1:0"


@pytest.fixture()
def admin(live_server: str, admin_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    ) as c:
        yield c


def new_key(admin: httpx.Client, **fields: Any) -> dict[str, Any]:
    created = admin.post("/keys", json={"name": "e2e team", **fields})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def sdk(live_server: str, key: dict[str, Any]) -> openai.OpenAI:
    return openai.OpenAI(base_url=live_server, api_key=key["key"], max_retries=0, timeout=30)


def ask(client: openai.OpenAI, model: str = NOVA, text: str = "hello team") -> Any:
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])


def test_allowed_models_answer_and_others_raise_permission_denied(
    live_server: str, admin: httpx.Client
) -> None:
    client = sdk(live_server, new_key(admin, allowed_models=["amazon.nova-*"]))
    assert ask(client).choices[0].message.content
    with pytest.raises(openai.PermissionDeniedError) as refused:
        ask(client, model=LLAMA)
    assert refused.value.status_code == 403 and LLAMA in refused.value.message
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model=LLAMA, messages=[{"role": "user", "content": "x"}], stream=True)
    ids = {m.id for m in client.models.list()}
    assert NOVA in ids and LLAMA not in ids


def test_rpm_raises_rate_limit_error_with_headers_and_calls_nothing_upstream(
    live_server: str, admin: httpx.Client, bedrock_calls: list[str]
) -> None:
    if time.time() % 60 > 50:  # keep the three calls inside one minute window
        time.sleep(61 - time.time() % 60)
    client = sdk(live_server, new_key(admin, rpm_limit=2))
    raw = client.chat.completions.with_raw_response.create(
        model=NOVA, messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-ratelimit-limit-requests"] == "2"
    assert raw.headers["x-ratelimit-remaining-requests"] == "1"
    assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
    with client.chat.completions.with_streaming_response.create(
        model=NOVA, messages=[{"role": "user", "content": "hi"}], stream=True
    ) as streamed:
        assert streamed.headers["x-ratelimit-remaining-requests"] == "0"
        assert any(chunk.choices for chunk in streamed.parse())
    calls = len(bedrock_calls)
    with pytest.raises(openai.RateLimitError) as refused:
        ask(client)
    assert refused.value.code == "rate_limit_exceeded"
    assert int(refused.value.response.headers["retry-after"]) >= 1
    assert refused.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert len(bedrock_calls) == calls


def test_budget_raises_insufficient_quota_after_the_crossing_request(
    live_server: str, admin: httpx.Client
) -> None:
    client = sdk(live_server, new_key(admin, token_budget={"limit": 3, "period": "day"}))
    crossing = ask(client, text="this request uses more than three tokens")
    assert crossing.usage is not None and crossing.usage.total_tokens > 3
    with pytest.raises(openai.RateLimitError) as refused:
        ask(client)
    assert refused.value.code == "insufficient_quota"
    assert refused.value.body["type"] == "insufficient_quota"  # type: ignore[index]


def test_usage_report_equals_the_sum_of_reported_usage(live_server: str, admin: httpx.Client) -> None:
    key = new_key(admin)
    client = sdk(live_server, key)
    prompt = total = 0
    for text in ("one", "two words", "now three words"):
        usage = ask(client, text=text).usage
        assert usage is not None
        prompt, total = prompt + usage.prompt_tokens, total + usage.total_tokens
    stream = client.chat.completions.create(
        model=NOVA,
        messages=[{"role": "user", "content": "streamed too"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    last = [chunk for chunk in stream][-1]
    assert last.usage is not None
    prompt, total = prompt + last.usage.prompt_tokens, total + last.usage.total_tokens
    rows = httpx.get(
        f"{live_server}/usage", params={"group_by": "key"}, headers={"Authorization": f"Bearer {key['key']}"}
    ).json()["data"]
    assert len(rows) == 1 and rows[0]["key_id"] == key["id"]
    assert rows[0]["requests"] == 4
    assert rows[0]["input_tokens"] == prompt
    assert rows[0]["input_tokens"] + rows[0]["output_tokens"] == total


def test_member_keys_see_only_their_own_projects(live_server: str, admin: httpx.Client) -> None:
    alice, bob = new_key(admin), new_key(admin)
    with (
        httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {alice['key']}"}) as a,
        httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {bob['key']}"}) as b,
    ):
        project = a.post("/projects", json={"name": "alice only"}).json()["id"]
        assert b.get(f"/projects/{project}").status_code == 404
        assert a.get(f"/projects/{project}").status_code == 200
        assert b.post("/keys", json={}).status_code == 403
    assert admin.get(f"/projects/{project}").status_code == 200


def test_patch_takes_effect_on_the_next_request(live_server: str, admin: httpx.Client) -> None:
    key = new_key(admin)
    client = sdk(live_server, key)
    assert ask(client, model=LLAMA).choices
    assert admin.patch(f"/keys/{key['id']}", json={"allowed_models": [NOVA]}).status_code == 200
    with pytest.raises(openai.PermissionDeniedError):
        ask(client, model=LLAMA)
    assert admin.patch(f"/keys/{key['id']}", json={"allowed_models": None}).status_code == 200
    assert ask(client, model=LLAMA).choices
