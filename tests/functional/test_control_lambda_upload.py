"""A dataset upload as API Gateway hands it to the ControlPlane Lambda: base64 multipart in a JSON event.

The largest file the route accepts must still fit the 6 MiB invoke payload once wrapped.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import httpx
import pytest

from relay.settings import DATASET_INLINE_MAX_BYTES, LAMBDA_INVOKE_PAYLOAD_BYTES

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def handler(local_stack: object) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "cp_handler_uploads", REPO / "functions/control_plane/handler.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rest_event(method: str, path: str, key: str, body: bytes = b"", content_type: str = "") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}", "Host": "abc123.execute-api.us-east-1.amazonaws.com"}
    if content_type:
        headers["Content-Type"] = content_type
    return {
        "resource": "/v1/projects/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.removeprefix("/v1/projects/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/projects/{proxy+}",
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "curl/8.5.0"},
            "accountId": "123456789012",
            "apiId": "abc123",
        },
        # multipart/form-data is a binary media type on the API, so the body arrives base64 encoded.
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }


def context() -> SimpleNamespace:
    return SimpleNamespace(
        function_name="ControlPlane",
        memory_limit_in_mb=1024,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:ControlPlane",
        aws_request_id="req-upload",
    )


def largest_valid_file() -> bytes:
    row = b'{"text": "a review of moderate length", "label": "positive"}\n'
    head = row * (DATASET_INLINE_MAX_BYTES // len(row) - 1)
    frame = b'{"text": "", "label": "n"}\n'
    filler = DATASET_INLINE_MAX_BYTES - len(head) - len(frame)
    return head + b'{"text": "' + b"x" * filler + b'", "label": "n"}\n'


def test_largest_accepted_upload_fits_a_lambda_invoke_and_is_stored(
    handler: ModuleType, admin_key: str
) -> None:
    created = handler.lambda_handler(rest_event("POST", "/v1/projects", admin_key), context())
    project = json.loads(created["body"])["id"]
    data = largest_valid_file()
    assert len(data) == DATASET_INLINE_MAX_BYTES
    request = httpx.Request(
        "POST",
        "http://x/",
        files={"file": ("train.jsonl", data)},
        data={"name": "a long enough dataset name"},
    )
    body = request.read()
    event = rest_event(
        "POST", f"/v1/projects/{project}/datasets", admin_key, body, request.headers["content-type"]
    )
    assert len(json.dumps(event).encode()) < LAMBDA_INVOKE_PAYLOAD_BYTES  # about 6,205,600 bytes

    result = handler.lambda_handler(event, context())
    assert result["statusCode"] == 201, result["body"][:500]
    stored = json.loads(result["body"])
    assert stored["size"] == len(data) and stored["sha256"] == hashlib.sha256(data).hexdigest()

    one_more = httpx.Request("POST", "http://x/", files={"file": ("train.jsonl", data + b"\n")})
    event = rest_event(
        "POST",
        f"/v1/projects/{project}/datasets",
        admin_key,
        one_more.read(),
        one_more.headers["content-type"],
    )
    refused = handler.lambda_handler(event, context())
    assert refused["statusCode"] == 413
    assert "presigned" in json.loads(refused["body"])["error"]
