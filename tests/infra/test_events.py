"""events/*.json are API Gateway REST proxy events for routes the template really has."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from .stack import CONTROL_ROUTES, INFERENCE_ROUTES, REPO_ROOT, serverless_functions

pytestmark = pytest.mark.infra

EVENTS_DIR = REPO_ROOT / "events"
EVENT_FILES = sorted(EVENTS_DIR.glob("*.json"))
REST_PROXY_KEYS = {
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
}
# The control routes a sample event is kept for (the rest are proxies of the same handler).
CONTROL_ROUTES_WITH_EVENTS = [("/health", "GET"), ("/v1/models", "GET"), ("/v1/models/{model_id+}", "GET")]


def _template_routes(template: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(path, METHOD) → function logical id, from the functions' Api events."""
    routes = {}
    for function_id, function in serverless_functions(template).items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "Api":
                routes[(event["Properties"]["Path"], event["Properties"]["Method"].upper())] = function_id
    return routes


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _binary_media_types(template: dict[str, Any]) -> set[str]:
    types = template["Resources"]["Api"]["Properties"]["BinaryMediaTypes"]
    return {t.replace("~1", "/") for t in types}


def test_there_is_an_event_for_every_inference_route_and_the_read_routes(template: dict[str, Any]) -> None:
    covered = {(_load(p)["resource"], _load(p)["httpMethod"]) for p in EVENT_FILES}
    # API Gateway puts the request's own method in an ANY route's event.
    covered |= {(resource, "ANY") for resource, _ in covered}
    missing = [route for route in INFERENCE_ROUTES + CONTROL_ROUTES_WITH_EVENTS if route not in covered]
    assert not missing
    assert any(resource.startswith("/v1/projects") for resource, _ in covered)
    assert set(CONTROL_ROUTES_WITH_EVENTS) <= set(CONTROL_ROUTES)


@pytest.mark.parametrize("path", EVENT_FILES, ids=[p.stem for p in EVENT_FILES])
def test_event_is_a_rest_proxy_event_for_a_real_route(template: dict[str, Any], path: Path) -> None:
    event = _load(path)
    assert set(event) == REST_PROXY_KEYS
    routes = _template_routes(template)
    method = event["httpMethod"]
    assert (event["resource"], method) in routes or (event["resource"], "ANY") in routes, path.name

    context = event["requestContext"]
    assert context["resourcePath"] == event["resource"] and context["httpMethod"] == method
    assert context["path"] == f"/{context['stage']}{event['path']}"
    assert context["requestId"] and context["identity"]["sourceIp"]
    assert event["multiValueHeaders"] == {k: [v] for k, v in event["headers"].items()}
    if event["resource"] != "/health":
        assert event["headers"]["Authorization"] == "Bearer sk-relay-test-key"
    if "{" in event["resource"]:
        assert event["pathParameters"], "a templated resource needs pathParameters"


@pytest.mark.parametrize("path", EVENT_FILES, ids=[p.stem for p in EVENT_FILES])
def test_event_body_matches_its_content_type(template: dict[str, Any], path: Path) -> None:
    event = _load(path)
    if event["httpMethod"] == "GET":
        assert event["body"] is None
        return
    content_type = event["headers"]["Content-Type"]
    media_type = content_type.split(";", 1)[0]
    if event["isBase64Encoded"]:
        # API Gateway only base64-encodes a body whose type is a declared binary media type.
        assert media_type in _binary_media_types(template)
        raw = base64.b64decode(event["body"], validate=True)
        boundary = content_type.split("boundary=", 1)[1]
        assert raw.startswith(f"--{boundary}\r\n".encode()) and raw.endswith(f"--{boundary}--\r\n".encode())
        assert b'name="file"' in raw and b'name="model"' in raw
    else:
        assert media_type == "application/json"
        body = json.loads(event["body"])
        assert body["model"]
    assert int(event["headers"]["Content-Length"]) > 0
