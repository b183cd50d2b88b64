"""Large presigned uploads through the local stack: `complete` answers 202, the worker settles them.

The app here verifies inline only up to 1 KiB, so a few-KB file takes the asynchronous path:
the control plane's Invoke (InvocationType Event) reaches the Lambda emulator, which runs the
pipeline worker's handler in-process on a thread, against moto's S3 and DynamoDB.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from local import functions

pytestmark = pytest.mark.functional

THRESHOLD = 1024
CHAT = b"".join(
    json.dumps(
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
    ).encode()
    + b"\n"
    for i in range(60)
)
# Line 1 is fine; lines 2-51 are not: the record keeps the first 20 and the count.
BROKEN = CHAT[: CHAT.index(b"\n") + 1] + b"".join(b'{"messages": "none %d"}\n' % i for i in range(50))


@pytest.fixture(scope="module")
def api(services: Any) -> Iterator[Any]:
    """The control plane with a 1 KiB synchronous limit, otherwise configured as the local stack is."""
    from fastapi.testclient import TestClient

    from relay.http.app import create_local_app
    from relay.services.container import Services

    settings = dataclasses.replace(services.settings, dataset_sync_verify_max_bytes=THRESHOLD)
    assert settings.worker_function_name.endswith(":function:relay-local-pipelinefunction")
    with TestClient(create_local_app(Services(settings)), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture()
def project(api: Any, auth: dict[str, str]) -> str:
    return str(api.post("/v1/projects", json={"name": "async verification"}, headers=auth).json()["id"])


def _presigned_upload(api: Any, auth: dict[str, str], project: str, data: bytes) -> dict[str, Any]:
    started = api.post(
        f"/v1/projects/{project}/datasets/uploads",
        json={"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "filename": "big.jsonl"},
        headers=auth,
    )
    assert started.status_code == 201, started.text
    form = started.json()["upload"]
    sent = httpx.post(form["url"], data=form["fields"], files={"file": ("big.jsonl", data)})
    assert sent.status_code == 204, sent.text  # S3 POST without success_action_status
    return dict(started.json())


def _poll(api: Any, auth: dict[str, str], url: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        body: dict[str, Any] = api.get(url, headers=auth).json()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_a_large_upload_is_verified_by_the_worker(api: Any, auth: dict[str, str], project: str) -> None:
    assert len(CHAT) > THRESHOLD
    started = _presigned_upload(api, auth, project, CHAT)
    completed = api.post(started["complete_url"], headers=auth)
    assert completed.status_code == 202, completed.text
    body = completed.json()
    assert body["status"] == "verifying" and body["is_uploaded"] is False
    assert "dataset_download_url" not in body and "error" not in body
    again = api.post(started["complete_url"], headers=auth)  # verifying still, or already done
    assert (again.status_code, again.json()["status"]) in ((202, "verifying"), (200, "uploaded"))

    url = f"/v1/projects/{project}/datasets/{started['id']}"
    detail = _poll(api, auth, url, lambda d: d["is_uploaded"])
    assert detail["status"] == "uploaded" and detail["is_uploaded"] is True, detail
    assert detail["format"] == "chat" and detail["num_rows"] == 60
    assert detail["sha256"] == hashlib.sha256(CHAT).hexdigest()
    assert httpx.get(detail["dataset_download_url"]).content == CHAT
    finished = api.post(started["complete_url"], headers=auth)
    assert finished.status_code == 200 and finished.json()["is_uploaded"] is True


def test_an_invalid_large_upload_is_kept_as_invalid_with_its_line_errors(
    api: Any, auth: dict[str, str], project: str, services: Any
) -> None:
    started = _presigned_upload(api, auth, project, BROKEN)
    assert len(BROKEN) > THRESHOLD
    assert api.post(started["complete_url"], headers=auth).status_code == 202
    url = f"/v1/projects/{project}/datasets/{started['id']}"
    detail = _poll(api, auth, url, lambda d: d["status"] == "invalid")
    assert detail["status"] == "invalid" and detail["is_uploaded"] is False, detail
    error = detail["error"]
    assert error["code"] == "invalid_dataset" and error["problem_lines"] == 50
    assert [e["line"] for e in error["lines"]] == list(range(2, 22))
    assert "'messages' must be a non-empty list" in error["lines"][0]["message"]
    assert "dataset_download_url" not in detail
    versions = boto3.client("s3").list_object_versions(
        Bucket=services.settings.bucket_name, Prefix=f"projects/{project}/datasets/{started['id']}/"
    )
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")

    again = api.post(started["complete_url"], headers=auth)
    assert again.status_code == 400 and again.json()["code"] == "invalid_dataset"
    assert "line 2" in again.json()["error"]
    training = api.post(
        f"/v1/projects/{project}/training-jobs",
        json={"base_model": "tiny-local", "train_dataset_id": started["id"]},
        headers=auth,
    )
    assert training.status_code == 400 and "has not finished uploading" in training.json()["error"]
    assert api.delete(url, headers=auth).status_code == 204
    assert api.get(url, headers=auth).status_code == 404


HANDLER = """
import json
from pathlib import Path

def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    # Written aside, then renamed: the test polls for the file and must never read half of it.
    partial = Path(event["out"] + ".partial")
    partial.write_text(json.dumps({"event": event, "name": context.function_name}))
    partial.rename(event["out"])
    return {"echo": event, "request_id": context.aws_request_id}
"""


def test_lambda_invoke_emulator_runs_template_functions_in_process(local_stack: Any, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(HANDLER))
    arn = "arn:aws:lambda:us-east-1:123456789012:function:relay-local-echo"
    functions.register([functions.LocalFunction("relay-local-echo", arn, tmp_path, "app.handler")])
    client = boto3.client("lambda")

    out = tmp_path / "sync.json"
    result = client.invoke(FunctionName="relay-local-echo", Payload=json.dumps({"out": str(out)}))
    assert result["StatusCode"] == 200 and "FunctionError" not in result
    assert json.loads(result["Payload"].read())["echo"] == {"out": str(out)}

    failed = client.invoke(FunctionName=arn, Payload=json.dumps({"fail": True}))
    assert failed["StatusCode"] == 200 and failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "asked to fail"

    queued = tmp_path / "async.json"
    accepted = client.invoke(
        FunctionName=arn, InvocationType="Event", Payload=json.dumps({"out": str(queued)})
    )
    assert accepted["StatusCode"] == 202 and accepted["Payload"].read() == b""
    deadline = time.monotonic() + 10
    while not queued.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(queued.read_text())["name"] == "relay-local-echo"

    assert client.invoke(FunctionName=arn, InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(ClientError) as missing:
        client.invoke(FunctionName="no-such-function", InvocationType="Event", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
