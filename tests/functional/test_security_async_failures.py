"""A dataset whose verification worker fails every retry ends `invalid` with a reason, on the local stack.

The control plane hands the upload to a worker that always crashes. The Lambda stand-in records
the failed asynchronous invoke on the worker's OnFailure queue (as Lambda does once its retries
are spent), and the pipeline worker, consuming that queue, settles the dataset.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from local import functions

pytestmark = pytest.mark.functional

DATA = b"".join(
    json.dumps({"prompt": f"question {i}", "completion": f"answer {i}"}).encode() + b"\n" for i in range(80)
)
CRASHING = "relay-local-crashing-verifier"


@pytest.fixture(scope="module")
def api(services: Any, local_stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from relay.http.app import create_local_app
    from relay.services.container import Services

    code = Path(tmp_path_factory.mktemp("crashing"))
    (code / "crash.py").write_text(
        "def handler(event, context):\n    raise RuntimeError('the verifier ran out of memory')\n"
    )
    names = local_stack.resources.names
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{CRASHING}"
    functions.register(
        [
            functions.LocalFunction(
                CRASHING, arn, code, "crash.handler", on_failure=names["PipelineFailureQueue.Arn"]
            )
        ]
    )
    settings = dataclasses.replace(
        services.settings, dataset_sync_verify_max_bytes=1024, worker_function_name=arn
    )
    with TestClient(create_local_app(Services(settings)), raise_server_exceptions=False) as client:
        yield client


def test_a_verification_that_fails_every_retry_ends_invalid_with_the_reason(
    api: Any, auth: dict[str, str], services: Any
) -> None:
    project = api.post("/v1/projects", json={"name": "crashing worker"}, headers=auth).json()["id"]
    started = api.post(
        f"/v1/projects/{project}/datasets/uploads",
        json={"size": len(DATA), "sha256": hashlib.sha256(DATA).hexdigest(), "filename": "big.jsonl"},
        headers=auth,
    ).json()
    form = started["upload"]
    assert (
        httpx.post(form["url"], data=form["fields"], files={"file": ("big.jsonl", DATA)}).status_code == 204
    )
    assert api.post(started["complete_url"], headers=auth).status_code == 202

    url = f"/v1/projects/{project}/datasets/{started['id']}"
    deadline = time.monotonic() + 30
    while (detail := api.get(url, headers=auth).json())[
        "status"
    ] == "verifying" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert detail["status"] == "invalid" and detail["is_uploaded"] is False, detail
    assert detail["error"]["code"] == "verification_failed"
    assert "the verifier ran out of memory" in detail["error"]["message"]
    again = api.post(started["complete_url"], headers=auth)
    assert again.status_code == 400 and again.json()["code"] == "verification_failed"
    staged = boto3.client("s3").list_object_versions(
        Bucket=services.settings.bucket_name, Prefix=f"staging/{project}/"
    )
    assert not staged.get("Versions") and not staged.get("DeleteMarkers")  # nothing kept for a dead upload
