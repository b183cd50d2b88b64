"""No object outlives its record: late presigned POSTs, abandoned uploads and deletes, on moto.

The bucket sends its object events to EventBridge; the local stack delivers the staging rule to
the pipeline worker in-process, as Lambda would on AWS.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import boto3
import httpx
import pytest

pytestmark = pytest.mark.functional

DATA = b"".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}).encode() + b"\n" for i in range(20))


def _keys(bucket: str, *prefixes: str) -> list[str]:
    s3 = boto3.client("s3")
    found: list[str] = []
    for prefix in prefixes:
        page = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        found += [v["Key"] for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    return found


def _eventually_empty(bucket: str, *prefixes: str, deadline: float = 20) -> list[str]:
    end = time.monotonic() + deadline
    while (left := _keys(bucket, *prefixes)) and time.monotonic() < end:
        time.sleep(0.2)
    return left


def _start(client: Any, auth: dict[str, str], project: str) -> dict[str, Any]:
    started = client.post(
        f"/v1/projects/{project}/datasets/uploads",
        json={"size": len(DATA), "sha256": hashlib.sha256(DATA).hexdigest(), "filename": "late.jsonl"},
        headers=auth,
    )
    assert started.status_code == 201, started.text
    return dict(started.json())


def _post(upload: dict[str, Any]) -> None:
    posted = httpx.post(upload["url"], data=upload["fields"], files={"file": ("late.jsonl", DATA)})
    assert posted.status_code == 204, posted.text


def test_a_presigned_post_after_the_project_was_deleted_leaves_nothing(
    client: Any, auth: dict[str, str], services: Any
) -> None:
    bucket = services.settings.bucket_name
    project = client.post("/v1/projects", json={"name": "late"}, headers=auth).json()["id"]
    started = _start(client, auth, project)
    assert client.delete(f"/v1/projects/{project}", headers=auth).status_code == 204
    _post(started["upload"])  # the client had the URL and sends the file anyway
    assert _eventually_empty(bucket, f"projects/{project}/", f"staging/{project}/") == []


def test_a_presigned_post_after_the_dataset_was_deleted_leaves_nothing(
    client: Any, auth: dict[str, str], services: Any
) -> None:
    bucket = services.settings.bucket_name
    project = client.post("/v1/projects", json={"name": "late dataset"}, headers=auth).json()["id"]
    started = _start(client, auth, project)
    url = f"/v1/projects/{project}/datasets/{started['id']}"
    assert client.delete(url, headers=auth).status_code == 204
    _post(started["upload"])
    assert _eventually_empty(bucket, f"projects/{project}/", f"staging/{project}/") == []
    assert client.get(f"/v1/projects/{project}", headers=auth).json()["datasets"] == []


def test_an_upload_lands_in_staging_and_complete_moves_it_into_place(
    client: Any, auth: dict[str, str], services: Any
) -> None:
    bucket = services.settings.bucket_name
    project = client.post("/v1/projects", json={"name": "staged"}, headers=auth).json()["id"]
    started = _start(client, auth, project)
    assert started["upload"]["fields"]["key"].startswith(f"staging/{project}/{started['id']}/")
    _post(started["upload"])
    time.sleep(0.5)  # the staging event of a live upload reaches the worker and must leave it alone
    assert _keys(bucket, f"staging/{project}/") != []
    done = client.post(started["complete_url"], headers=auth)
    assert done.status_code == 200 and done.json()["is_uploaded"], done.text
    assert httpx.get(done.json()["dataset_download_url"]).content == DATA
    assert _eventually_empty(bucket, f"staging/{project}/") == []
    assert [k.rsplit("/", 1)[1] for k in _keys(bucket, f"projects/{project}/")] == ["late.jsonl"]
    assert client.delete(f"/v1/projects/{project}", headers=auth).status_code == 204
    assert _keys(bucket, f"projects/{project}/", f"staging/{project}/") == []


def test_the_bucket_expires_abandoned_staged_uploads() -> None:
    from tests.infra.stack import raw_template  # the template the local stack is built from

    rules = raw_template()["Resources"]["Bucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    staging = [
        r for r in rules if r.get("Prefix") == "staging/" or r.get("Filter", {}).get("Prefix") == "staging/"
    ]
    assert staging and staging[0]["Status"] == "Enabled" and 0 < staging[0]["ExpirationInDays"] <= 2
