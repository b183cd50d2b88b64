"""The ControlPlane Lambda handler (Mangum) fed the sample API Gateway events from events/."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def handler(local_stack: object) -> ModuleType:
    spec = importlib.util.spec_from_file_location("cp_handler", REPO / "functions/control_plane/handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _event(name: str, key: str) -> dict[str, Any]:
    event = json.loads((REPO / "events" / name).read_text())
    for headers in (event["headers"], event["multiValueHeaders"]):
        if "Authorization" in headers:
            value = f"Bearer {key}"
            headers["Authorization"] = [value] if isinstance(headers["Authorization"], list) else value
    return event


def _context() -> SimpleNamespace:
    return SimpleNamespace(
        function_name="ControlPlane",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:ControlPlane",
        aws_request_id="req-1",
    )


def test_models_list_event(handler: ModuleType, admin_key: str) -> None:
    result = handler.lambda_handler(_event("models-list.json", admin_key), _context())
    assert result["statusCode"] == 200
    body = json.loads(result["body"])
    assert body["object"] == "list" and body["data"]
    assert "x-request-id" in {k.lower() for k in result.get("headers", {})} | {
        k.lower() for k in result.get("multiValueHeaders", {})
    }


def test_sample_key_is_refused(handler: ModuleType) -> None:
    result = handler.lambda_handler(_event("models-list.json", "sk-relay-test-key"), _context())
    assert result["statusCode"] == 401
    assert json.loads(result["body"])["error"]["type"] == "authentication_error"


def test_health_event(handler: ModuleType) -> None:
    result = handler.lambda_handler(_event("health.json", "unused"), _context())
    assert result["statusCode"] == 200
