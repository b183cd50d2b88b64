"""The dataset journey over plain HTTP against uvicorn: small upload, presigned large upload, download, delete."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import unquote, urlsplit

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e


def chat_rows(count: int) -> bytes:
    return b"".join(
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"Question {i}?"},
                    {"role": "assistant", "content": f"Answer {i}."},
                ]
            }
        ).encode()
        + b"\n"
        for i in range(count)
    )


def test_project_dataset_journey(live_server: str, admin_key: str) -> None:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as api:
        project = api.post("/projects", json={"name": "e2e datasets"}).json()["id"]

        small = b"text,label\nI loved it,positive\nNever again,negative\n"
        created = api.post(
            f"/projects/{project}/datasets", files={"file": ("reviews.csv", small, "text/csv")}
        )
        assert created.status_code == 201, created.text
        assert created.json()["format"] == "classification" and created.json()["num_rows"] == 2

        # Larger than the multipart route takes, so it must go through the presigned S3 POST.
        large = chat_rows(45_000)
        assert 4_653_056 < len(large) < 6_000_000
        refused = api.post(f"/projects/{project}/datasets", files={"file": ("big.jsonl", large)})
        assert refused.status_code == 413 and "presigned" in refused.json()["error"]
        beyond_lambda = api.post(f"/projects/{project}/datasets", files={"file": ("big.jsonl", large * 2)})
        assert beyond_lambda.status_code == 413 and beyond_lambda.json()["status"] == 413
        started = api.post(
            f"/projects/{project}/datasets/uploads",
            json={
                "name": "big chat",
                "filename": "big.jsonl",
                "size": len(large),
                "sha256": hashlib.sha256(large).hexdigest(),
            },
        )
        assert started.status_code == 201, started.text
        upload = started.json()["upload"]
        to_s3 = httpx.post(
            upload["url"], data=upload["fields"], files={"file": ("big.jsonl", large)}, timeout=120
        )
        assert to_s3.status_code == 204, to_s3.text  # S3 POST without success_action_status
        completed = api.post(f"/projects/{project}/datasets/{started.json()['id']}/complete")
        assert completed.status_code == 200, completed.text
        assert completed.json()["is_uploaded"] and completed.json()["num_rows"] == 45_000

        listed = {d["id"]: d for d in api.get(f"/projects/{project}/datasets").json()}
        assert set(listed) == {created.json()["id"], started.json()["id"]}
        assert all(d["is_uploaded"] for d in listed.values())

        urls = []
        for dataset_id, original in ((created.json()["id"], small), (started.json()["id"], large)):
            url = api.get(f"/projects/{project}/datasets/{dataset_id}").json()["dataset_download_url"]
            downloaded = httpx.get(url, timeout=120)
            assert downloaded.status_code == 200 and downloaded.content == original
            urls.append(url)

        detail = api.get(f"/projects/{project}").json()
        assert {d["id"] for d in detail["datasets"]} == set(listed)

        assert api.delete(f"/projects/{project}").status_code == 204
        assert api.get(f"/projects/{project}").status_code == 404
        assert api.get(f"/projects/{project}/datasets").status_code == 404
        # Gone: S3 answers 404, or 403 where the signer may not list the bucket.
        assert all(httpx.get(url).status_code in (403, 404) for url in urls)
        # Locally those refusals are signature failures, so ask S3 itself that the objects are gone.
        for bucket, key in (urlsplit(url).path.lstrip("/").split("/", 1) for url in urls):
            with pytest.raises(ClientError, match="404"):
                boto3.client("s3").head_object(Bucket=bucket, Key=unquote(key))
        assert project not in {p["id"] for p in api.get("/projects").json()}
