"""Every route the two apps serve is reachable through API Gateway, on the function that serves it.

A route the app has but the template lacks is a 404 (API Gateway's "Missing Authentication
Token") only once deployed; the local server, which mounts every router, never shows it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .stack import serverless_functions

pytestmark = pytest.mark.infra

PLANES = {"data_plane": "DataPlaneFunction", "control_plane": "ControlPlaneFunction"}
# Served by the data plane only for the Web Adapter's readiness check; API Gateway sends
# /health to the control plane.
INTERNAL = {("DataPlaneFunction", "/health")}


def _api_routes(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(path, METHOD, function logical id) for every Api event in the template."""
    return [
        (event["Properties"]["Path"], event["Properties"]["Method"].upper(), function_id)
        for function_id, function in serverless_functions(template).items()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    ]


def _pattern(api_path: str) -> re.Pattern[str]:
    parts = []
    for segment in api_path.strip("/").split("/"):
        if segment.endswith("+}"):
            parts.append(".+")
        elif segment.startswith("{"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts))


def _specificity(api_path: str) -> tuple[int, int]:
    """API Gateway prefers literal segments over {param}, and {param} over {proxy+}."""
    segments = api_path.strip("/").split("/")
    return (sum(not s.startswith("{") for s in segments), -sum(s.endswith("+}") for s in segments))


def _sample(app_path: str) -> str:
    """A concrete request path for a FastAPI path template (model ids carry "/" and ":")."""
    path = re.sub(r"\{[^}]+:path\}", "us.anthropic.claude-3-7-sonnet-20250219-v1:0/x", app_path)
    return re.sub(r"\{[^}]+\}", "id-123", path)


def _gateway_target(template: dict[str, Any], path: str, method: str) -> str | None:
    """The function API Gateway would invoke for a request, or None for its 404."""
    candidates = [
        (api_path, function_id)
        for api_path, api_method, function_id in _api_routes(template)
        if _pattern(api_path).fullmatch(path) and api_method in (method, "ANY")
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda c: _specificity(c[0]))[1]


def _app_routes() -> list[tuple[str, str, str]]:
    """(function logical id, METHOD, path template) for each route the apps declare."""
    from relay.http import app as factory
    from relay.http.routes import health

    planes = {
        "data_plane": factory.data_plane_routes(),  # SnapStart's hooks are for the adapter alone
        "control_plane": [
            *health.routes,
            *(route for router in factory.control_plane_routers() for route in router.routes),
        ],
    }
    routes = []
    for plane, function_id in PLANES.items():
        for route in planes[plane]:
            for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
                routes.append((function_id, method, route.path))
    return routes


def test_matcher_prefers_literal_routes() -> None:
    template = {
        "Resources": {
            "A": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "Proxy": {"Type": "Api", "Properties": {"Path": "/v1/{proxy+}", "Method": "any"}},
                        "Chat": {"Type": "Api", "Properties": {"Path": "/v1/chat", "Method": "post"}},
                    }
                },
            },
            "B": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "Model": {"Type": "Api", "Properties": {"Path": "/v1/m/{id+}", "Method": "get"}}
                    }
                },
            },
        }
    }
    assert _gateway_target(template, "/v1/chat", "POST") == "A"
    assert _gateway_target(template, "/v1/m/a/b:c", "GET") == "B"
    assert _gateway_target(template, "/v1/m/a", "POST") == "A"
    assert _gateway_target(template, "/v2/chat", "POST") is None


def test_every_app_route_reaches_its_function(template: dict[str, Any]) -> None:
    unreachable = []
    for function_id, method, path in _app_routes():
        if (function_id, path) in INTERNAL:
            continue
        target = _gateway_target(template, _sample(path), method)
        if target != function_id:
            unreachable.append(f"{method} {path} -> {target or 'no route'} (served by {function_id})")
    assert not unreachable, "\n".join(unreachable)
