"""`GET /openapi.json` and `GET /docs`: a valid OpenAPI document of both planes, and a page that renders it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from relay.http.openapi_extras import EXAMPLES, JSON_BODIES
from relay.protocol.chat import ChatCompletionRequest
from relay.protocol.embeddings import EmbeddingRequest
from relay.protocol.training import CreateTrainingJobRequest

pytestmark = pytest.mark.functional

SCREENSHOT = Path("/tmp/relay-docs.png")
EXPECTED = {
    ("post", "/v1/chat/completions"),
    ("post", "/v1/embeddings"),
    ("get", "/v1/models"),
    ("post", "/v1/projects"),
    ("post", "/v1/projects/{project_id}/datasets"),
    ("post", "/v1/projects/{project_id}/training-jobs"),
    ("get", "/v1/projects/{project_id}/training-jobs/{training_job_id}"),
    ("post", "/v1/keys"),
}


@pytest.fixture(scope="module")
def document(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")  # no key: the document holds no data
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


def test_document_is_valid_openapi_3_listing_both_planes(document: dict[str, Any]) -> None:
    validate(document)  # raises on an invalid document
    assert document["openapi"].startswith("3.")
    assert operations(document) >= EXPECTED


def test_every_route_of_both_planes_is_documented(document: dict[str, Any]) -> None:
    from relay.http.app import control_plane_routers, data_plane_routes

    undocumented = {"/health", "/openapi.json", "/docs", "/docs/{asset}"}
    routes = [*data_plane_routes(), *(route for router in control_plane_routers() for route in router.routes)]
    served = {
        (method.lower(), route.path.replace(":path}", "}"))
        for route in routes
        if route.path not in undocumented
        for method in route.methods - {"HEAD"}
    }
    assert len(served) > 20 and served <= operations(document)


def test_hand_parsed_bodies_use_the_routes_models(document: dict[str, Any]) -> None:
    for (method, path), (model, required) in JSON_BODIES.items():
        body = document["paths"][path][method]["requestBody"]
        assert body["required"] is required
        assert body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model.__name__}"
        }
        assert model.__name__ in document["components"]["schemas"]
    upload = document["paths"]["/v1/projects/{project_id}/datasets"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"


@pytest.mark.parametrize(
    ("route", "model"),
    [
        (("post", "/v1/chat/completions"), ChatCompletionRequest),
        (("post", "/v1/embeddings"), EmbeddingRequest),
        (("post", "/v1/projects/{project_id}/training-jobs"), CreateTrainingJobRequest),
        *((route, model) for route, (model, _) in JSON_BODIES.items()),
    ],
)
def test_examples_are_valid_requests(
    document: dict[str, Any], route: tuple[str, str], model: type[Any]
) -> None:
    model.model_validate(EXAMPLES[route])  # an example that drifted from its model fails here
    method, path = route
    assert (
        document["paths"][path][method]["requestBody"]["content"]["application/json"]["example"]
        == EXAMPLES[route]
    )


def test_auth_and_error_envelopes_are_described(document: dict[str, Any]) -> None:
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    chat = document["paths"]["/v1/chat/completions"]["post"]["responses"]["default"]
    projects = document["paths"]["/v1/projects"]["get"]["responses"]["default"]
    assert chat["content"]["application/json"]["schema"]["$ref"].endswith("/OpenAIError")
    assert projects["content"]["application/json"]["schema"]["$ref"].endswith("/ControlPlaneError")


def test_control_plane_alone_serves_the_whole_document(services: Any) -> None:
    from fastapi.testclient import TestClient

    from relay.http.app import create_control_plane_app

    with TestClient(create_control_plane_app(services)) as control:
        paths = control.get("/openapi.json").json()["paths"]
    assert "/v1/chat/completions" in paths and "/v1/projects" in paths


def test_docs_page_and_its_assets_need_no_key(client: Any) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="docs/swagger-ui-bundle.js"' in page.text and "https://" not in page.text  # no CDN
    script = client.get("/docs/swagger-ui-bundle.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in script.content
    assert client.get("/docs/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert client.get("/docs/index.html").status_code == 404  # only the two files the page loads


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_docs_renders_the_operations_in_headless_chromium(live_server: str, tmp_path: Path) -> None:
    url = live_server.removesuffix("/v1") + "/docs"
    assert httpx.get(url, timeout=10).status_code == 200
    common = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    common += [f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000", "--hide-scrollbars"]
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert dom.count("opblock-summary-path") >= len(EXPECTED)  # one per operation Swagger UI drew
    for _, path in EXPECTED:
        assert f'data-path="{path}"' in dom, path
    subprocess.run(
        [*common, "--window-size=1280,2400", f"--screenshot={SCREENSHOT}", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert SCREENSHOT.stat().st_size > 10_000
