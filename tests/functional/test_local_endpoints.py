"""Under the local stack, the emulated SageMaker endpoints register with the default endpoint check."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.functional


def test_emulated_endpoint_registers_and_answers(client: Any, auth: dict[str, str]) -> None:
    created = client.post(
        "/v1/admin/models",
        json={"id": "local-check/dev", "endpoint_name": "relay-emu-openai", "flavour": "openai"},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    assert created.json()["endpoint_status"] == "InService"
    try:
        answer = client.post(
            "/v1/chat/completions",
            json={"model": "local-check", "messages": [{"role": "user", "content": "hi there"}]},
            headers=auth,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"].endswith("hi there")
    finally:
        client.delete("/v1/admin/models/local-check/dev", headers=auth)


def test_a_missing_endpoint_is_still_refused(client: Any, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/admin/models",
        json={"id": "ghost/dev", "endpoint_name": "no-such-endpoint-openai", "flavour": "openai"},
        headers=auth,
    )
    assert response.status_code == 400, response.text
    # /v1/admin routes answer the control-plane envelope, not OpenAI's.
    assert response.json() == {
        "status": 400,
        "error": "SageMaker endpoint no-such-endpoint-openai does not exist in this account and region",
        "code": "endpoint_not_found",
    }
    assert client.get("/v1/admin/models/ghost/dev", headers=auth).status_code == 404
