"""The app factory, auth, models listing and error envelopes, in-process on moto + emulators."""

from __future__ import annotations

import json

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel

from relay.http.app import create_app
from relay.http.routes import health, models

pytestmark = pytest.mark.functional


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_models_list_has_openai_shape_and_catalogue_fields(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/v1/models", headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    by_id = {m["id"]: m for m in body["data"]}
    # Profiles come from several pages of ListInferenceProfiles.
    assert "global.anthropic.claude-sonnet-4-20250514-v1:0" in by_id
    assert "us.cohere.embed-v4:0" in by_id
    # Profile-only models are listed by their profile ids, image models not at all.
    assert "anthropic.claude-3-7-sonnet-20250219-v1:0" not in by_id
    assert "amazon.nova-canvas-v1:0" not in by_id
    item = by_id["amazon.titan-embed-text-v2:0"]
    assert item["object"] == "model"
    assert item["type"] == "embeddings"
    assert item["support_serverless"] is True
    assert {"created", "owned_by", "name", "parameter_template"} <= set(item)
    assert by_id["cohere.rerank-v3-5:0"]["type"] == "rerank"


def test_model_get_with_colons_and_dots(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/v1/models/us.anthropic.claude-3-7-sonnet-20250219-v1:0", headers=auth)
    assert response.status_code == 200
    assert response.json()["id"] == "us.anthropic.claude-3-7-sonnet-20250219-v1:0"


def test_unknown_model_is_404_in_openai_envelope(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/v1/models/no-such-model", headers=auth)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}, {"Authorization": "Basic abc"}],
)
def test_missing_or_wrong_key_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/v1/models", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_x_api_key_header_works(client: TestClient, admin_key: str) -> None:
    assert client.get("/v1/models", headers={"X-API-Key": admin_key}).status_code == 200


def test_request_id_is_generated_or_propagated(client: TestClient, auth: dict[str, str]) -> None:
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32
    assert client.get("/health", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    # Header injection attempts are replaced, not echoed.
    assert client.get("/health", headers={"x-request-id": "a b"}).headers["x-request-id"] != "a b"
    assert "x-request-id" in client.get("/v1/models/nope", headers=auth).headers


def test_unknown_route_is_404_json(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert "error" in response.json()


class Echo(BaseModel):
    name: str
    count: int = 1


def _body_app(services: object) -> TestClient:
    router = APIRouter()

    @router.post("/v1/echo")
    async def echo(body: Echo) -> dict[str, object]:
        return body.model_dump()

    @router.post("/v1/projects/echo")
    async def control_echo(body: Echo) -> dict[str, object]:
        return body.model_dump()

    app = create_app([models.router, router], services, extra=health.routes)  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


def test_malformed_json_and_wrong_types_are_400_never_422(services: object) -> None:
    client = _body_app(services)
    bad_json = client.post("/v1/echo", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["type"] == "invalid_request_error"
    wrong_type = client.post("/v1/echo", json={"name": "x", "count": "many"})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"]["param"] == "count"
    missing = client.post("/v1/echo", json={})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "name"
    control = client.post("/v1/projects/echo", json={"name": 3})
    assert control.status_code == 400
    assert control.json()["status"] == 400 and isinstance(control.json()["error"], str)


def test_body_size_limit_is_413(services: object) -> None:
    client = _body_app(services)
    limit = services.settings.max_body_bytes  # type: ignore[attr-defined]
    big = json.dumps({"name": "x" * (limit + 10)})
    response = client.post("/v1/echo", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"

    def chunks():  # no Content-Length: the streamed count must still stop it
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    streamed = client.post("/v1/echo", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_models_can_be_public_when_configured(services: object) -> None:
    from dataclasses import replace

    from relay.services.container import Services

    public = Services(replace(services.settings, models_require_key=False))  # type: ignore[attr-defined]
    client = TestClient(create_app([models.router], public))
    assert client.get("/v1/models").status_code == 200
