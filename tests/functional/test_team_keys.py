"""Team keys on the app in-process against moto and the emulators, with an injected clock:
policy fields and their 400s, allow-lists, RPM and budget 429s before any upstream call,
window and UTC-day rollover, metering equal to the responses' usage, roles over ownership,
PATCH, revocation and expiry taking effect at once, per-key inference profiles."""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.clock import Clock

pytestmark = pytest.mark.functional

NOVA = "amazon.nova-lite-v1:0"
LLAMA = "meta.llama3-1-8b-instruct-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"
PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/teamalpha01"
# 2026-12-31 23:58:00 UTC: the start of a minute, two minutes before a UTC day boundary.
START = calendar.timegm((2026, 12, 31, 23, 58, 0))


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(float(START))


@pytest.fixture(autouse=True)
def clock_at_start(clock: Clock) -> None:
    """Each test starts at START, whatever time the tests before it moved the clock to."""
    clock.now = float(START)


@pytest.fixture(scope="module")
def team(local_stack: object, clock: Clock) -> Iterator[TestClient]:
    """The whole app, its limiter and usage on the injected clock."""
    from relay.backends import aws
    from relay.http.app import create_local_app
    from relay.services.container import Services
    from relay.services.limits.service import Limiter
    from relay.services.usage.service import UsageService
    from relay.settings import Settings

    aws.reset_clients()
    services = Services(Settings.from_env())
    services.__dict__["limiter"] = Limiter(services.limit_counters, clock)
    services.__dict__["usage"] = UsageService(
        services.usage_repository, lambda: [k.id for k in services.api_keys.list()], clock
    )
    with TestClient(create_local_app(services), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def admin(admin_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_key}"}


def new_key(
    client: TestClient, admin: dict[str, str], **fields: Any
) -> tuple[dict[str, str], dict[str, Any]]:
    created = client.post("/v1/keys", json={"name": "team", **fields}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    return {"Authorization": f"Bearer {body['key']}"}, body


def chat(client: TestClient, auth: dict[str, str], text: str = "hello relay", **body: Any) -> Any:
    body.setdefault("model", NOVA)
    body.setdefault("messages", [{"role": "user", "content": text}])
    return client.post("/v1/chat/completions", headers=auth, json=body)


def frames(text: str) -> list[dict[str, Any]]:
    data = [line[6:] for line in text.split("\n") if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(f) for f in data[:-1]]


def test_create_shows_every_field_and_get_adds_the_period_usage(
    team: TestClient, admin: dict[str, str]
) -> None:
    fields = {
        "role": "member",
        "allowed_models": ["amazon.nova-*"],
        "rpm_limit": 100,
        "tpm_limit": 10000,
        "token_budget": {"limit": 50000, "period": "month"},
        "expires_at": START + 86400 * 90,
        "metadata": {"team": "search", "cost_center": "cc-42"},
        "inference_profile_arn": {NOVA: PROFILE},
    }
    _, body = new_key(team, admin, **fields)
    assert body["key"].startswith("sk-relay-")
    for name, value in fields.items():
        assert body[name] == value
    shown = team.get(f"/v1/keys/{body['id']}", headers=admin).json()
    assert "key" not in shown
    assert shown["usage"] == {
        "period": "month",
        "start": calendar.timegm((2026, 12, 1, 0, 0, 0)),
        "end": calendar.timegm((2027, 1, 1, 0, 0, 0)),
        "requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
    }
    plain = new_key(team, admin)[1]
    assert plain["role"] == "member" and plain["allowed_models"] is None and plain["rpm_limit"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rpm_limit", -1),
        ("tpm_limit", 0),
        ("rpm_limit", "10"),
        ("token_budget", {"limit": 10, "period": "week"}),
        ("token_budget", {"limit": -5, "period": "day"}),
        ("role", "owner"),
        ("allowed_models", "amazon.nova-*"),
        ("expires_at", "soon"),
        ("metadata", {"team": 7}),
        ("inference_profile_arn", {NOVA: "arn:aws:bedrock:us-east-1:123456789012:foundation-model/x"}),
    ],
)
def test_bad_values_are_400_naming_the_field(
    team: TestClient, admin: dict[str, str], field: str, value: Any
) -> None:
    created = team.post("/v1/keys", json={field: value}, headers=admin)
    assert created.status_code == 400, created.text
    assert field in created.json()["error"]
    key_id = new_key(team, admin)[1]["id"]
    patched = team.patch(f"/v1/keys/{key_id}", json={field: value}, headers=admin)
    assert patched.status_code == 400 and field in patched.json()["error"]


def test_allow_list_refuses_other_models_on_every_route_and_hides_them(
    team: TestClient, admin: dict[str, str], bedrock_calls: list[str]
) -> None:
    auth, _ = new_key(team, admin, allowed_models=["amazon.nova-*"])
    assert chat(team, auth).status_code == 200
    refused = chat(team, auth, model=LLAMA)
    assert refused.status_code == 403
    assert refused.json()["error"]["type"] == "permission_error"
    assert refused.json()["error"]["param"] == "model"
    streamed = chat(team, auth, model=LLAMA, stream=True)
    assert streamed.status_code == 403
    embedded = team.post("/v1/embeddings", headers=auth, json={"model": TITAN, "input": "x"})
    assert embedded.status_code == 403
    assert bedrock_calls == [NOVA]  # only the allowed call reached Bedrock
    listed = {m["id"] for m in team.get("/v1/models", headers=auth).json()["data"]}
    assert NOVA in listed and LLAMA not in listed and TITAN not in listed
    assert all(m.startswith("amazon.nova-") for m in listed)
    assert team.get(f"/v1/models/{LLAMA}", headers=auth).status_code == 404
    assert LLAMA in {m["id"] for m in team.get("/v1/models", headers=admin).json()["data"]}


def test_rpm_refuses_before_the_upstream_call_with_headers_then_the_window_rolls(
    team: TestClient, admin: dict[str, str], clock: Clock, bedrock_calls: list[str]
) -> None:
    clock.now = START + 5
    auth, _ = new_key(team, admin, rpm_limit=2, tpm_limit=100000)
    first = chat(team, auth)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-reset-requests"] == "55s"
    assert first.headers["x-ratelimit-limit-tokens"] == "100000"
    streamed = chat(team, auth, stream=True)
    assert streamed.status_code == 200 and streamed.headers["x-ratelimit-remaining-requests"] == "0"
    calls = len(bedrock_calls)
    refused = chat(team, auth)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["Retry-After"] == "55"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    used = first.json()["usage"]["total_tokens"] + first.json()["usage"]["total_tokens"]
    assert int(refused.headers["x-ratelimit-remaining-tokens"]) == 100000 - used
    assert len(bedrock_calls) == calls  # refused before Bedrock was called
    clock.now = START + 60
    again = chat(team, auth)
    assert again.status_code == 200 and again.headers["x-ratelimit-remaining-requests"] == "1"
    assert again.headers["x-ratelimit-remaining-tokens"] == "100000"


def test_budget_lets_the_crossing_request_finish_then_refuses_until_the_utc_day_rolls(
    team: TestClient, admin: dict[str, str], clock: Clock, bedrock_calls: list[str]
) -> None:
    clock.now = START + 10
    auth, key = new_key(team, admin, token_budget={"limit": 5, "period": "day"})
    crossing = chat(team, auth, text="one two three four five six seven")
    assert crossing.status_code == 200 and crossing.json()["usage"]["total_tokens"] > 5
    calls = len(bedrock_calls)
    clock.now = START + 100  # a later minute of the same day
    refused = chat(team, auth)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "insufficient_quota"
    assert refused.json()["error"]["type"] == "insufficient_quota"
    assert int(refused.headers["Retry-After"]) == START + 120 - int(clock.now)
    assert len(bedrock_calls) == calls
    used = team.get(f"/v1/keys/{key['id']}", headers=admin).json()["usage"]
    assert used["total_tokens"] == crossing.json()["usage"]["total_tokens"] and used["requests"] == 1
    clock.now = START + 120  # midnight UTC
    assert chat(team, auth).status_code == 200


def test_usage_equals_what_the_responses_reported_streams_included(
    team: TestClient, admin: dict[str, str], clock: Clock
) -> None:
    clock.now = START + 3 * 86400
    auth, key = new_key(team, admin)
    plain = chat(team, auth, text="count these five words").json()["usage"]
    with_usage = frames(
        chat(team, auth, text="a b c", stream=True, stream_options={"include_usage": True}).text
    )
    reported = with_usage[-1]["usage"]
    assert with_usage[-1]["choices"] == []
    without = frames(chat(team, auth, text="a b c", stream=True).text)
    assert all(f.get("usage") is None for f in without)  # not asked for: not shown, still metered
    embedded = team.post("/v1/embeddings", headers=auth, json={"model": TITAN, "input": ["x y", "z"]}).json()
    day = time.strftime("%Y-%m-%d", time.gmtime(clock.now))
    rows = team.get(f"/v1/usage?key_id={key['id']}&start={day}&end={day}", headers=admin).json()
    assert rows["object"] == "list"
    by_model = {r["model"]: r for r in rows["data"]}
    assert set(by_model) == {NOVA, TITAN}
    nova = by_model[NOVA]
    assert nova["requests"] == 3 and nova["key_id"] == key["id"] and nova["date"] == day
    assert nova["input_tokens"] == plain["prompt_tokens"] + 2 * reported["prompt_tokens"]
    assert nova["output_tokens"] == plain["completion_tokens"] + 2 * reported["completion_tokens"]
    assert by_model[TITAN]["input_tokens"] == embedded["usage"]["prompt_tokens"]
    assert by_model[TITAN]["requests"] == 1
    summed = team.get(
        f"/v1/usage?key_id={key['id']}&start={day}&end={day}&group_by=key", headers=admin
    ).json()
    assert summed["data"][0]["model"] is None and summed["data"][0]["requests"] == 4


def test_members_see_only_their_own_projects_and_usage_admin_role_keys_see_all(
    team: TestClient, admin: dict[str, str], clock: Clock
) -> None:
    clock.now = START + 4 * 86400
    alice, alice_key = new_key(team, admin)
    bob, _ = new_key(team, admin)
    boss, _ = new_key(team, admin, role="admin")
    project = team.post("/v1/projects", json={"name": "alice's"}, headers=alice).json()["id"]
    assert team.get(f"/v1/projects/{project}", headers=bob).status_code == 404
    assert project not in {p["id"] for p in team.get("/v1/projects", headers=bob).json()}
    assert team.get(f"/v1/projects/{project}", headers=boss).status_code == 200
    assert project in {p["id"] for p in team.get("/v1/projects", headers=boss).json()}
    assert team.delete(f"/v1/projects/{project}", headers=bob).status_code == 404
    for member in (alice, bob):
        assert team.post("/v1/keys", json={}, headers=member).status_code == 403
        assert team.get("/v1/keys", headers=member).status_code == 403
        assert team.get("/v1/admin/models", headers=member).status_code == 403
    assert team.post("/v1/keys", json={"name": "made by boss"}, headers=boss).status_code == 201
    chat(team, alice)
    chat(team, bob)
    mine = team.get("/v1/usage?group_by=key", headers=alice).json()["data"]
    assert [r["key_id"] for r in mine] == [alice_key["id"]]
    assert team.get(f"/v1/usage?key_id={alice_key['id']}", headers=bob).status_code == 403
    everyone = {r["key_id"] for r in team.get("/v1/usage?group_by=key", headers=boss).json()["data"]}
    assert alice_key["id"] in everyone and len(everyone) >= 2


def test_patch_revocation_and_expiry_take_effect_at_once_on_this_instance(
    team: TestClient, admin: dict[str, str], clock: Clock
) -> None:
    auth, key = new_key(team, admin)
    assert chat(team, auth, model=LLAMA).status_code == 200
    patched = team.patch(
        f"/v1/keys/{key['id']}", json={"allowed_models": [NOVA], "rpm_limit": 50}, headers=admin
    )
    assert patched.status_code == 200 and patched.json()["allowed_models"] == [NOVA]
    assert chat(team, auth, model=LLAMA).status_code == 403
    limited = chat(team, auth)
    assert limited.headers["x-ratelimit-limit-requests"] == "50"
    cleared = team.patch(f"/v1/keys/{key['id']}", json={"rpm_limit": None, "name": "renamed"}, headers=admin)
    assert cleared.json()["rpm_limit"] is None and cleared.json()["allowed_models"] == [NOVA]
    assert cleared.json()["name"] == "renamed"
    assert "x-ratelimit-limit-requests" not in chat(team, auth).headers
    expired = team.patch(f"/v1/keys/{key['id']}", json={"expires_at": int(time.time()) - 1}, headers=admin)
    assert expired.status_code == 200
    assert chat(team, auth).status_code == 401
    other, other_key = new_key(team, admin)
    assert chat(team, other).status_code == 200
    assert team.delete(f"/v1/keys/{other_key['id']}", headers=admin).status_code == 204
    assert chat(team, other).status_code == 401
    assert team.patch("/v1/keys/nosuchkey123", json={"rpm_limit": 1}, headers=admin).status_code == 404


def test_a_keys_inference_profile_is_the_model_id_bedrock_sees(
    team: TestClient, admin: dict[str, str], bedrock_calls: list[str]
) -> None:
    auth, _ = new_key(team, admin, inference_profile_arn={NOVA: PROFILE})
    answered = chat(team, auth)
    assert answered.status_code == 200 and answered.json()["model"] == NOVA
    assert chat(team, auth, stream=True).status_code == 200
    assert chat(team, auth, model=LLAMA).status_code == 200
    assert bedrock_calls == [PROFILE, PROFILE, LLAMA]
    assert chat(team, admin).status_code == 200
    assert bedrock_calls[-1] == NOVA  # other keys call the model itself
