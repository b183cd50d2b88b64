"""OpenAI's Files API judged by the openai SDK against uvicorn on loopback."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import openai
import pytest

pytestmark = pytest.mark.e2e

LINES = b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'


def test_upload_list_retrieve_content_delete(openai_client: Any) -> None:
    created = openai_client.files.create(file=("requests.jsonl", io.BytesIO(LINES)), purpose="batch")
    assert created.id.startswith("file-")
    assert (created.object, created.bytes, created.filename, created.purpose, created.status) == (
        "file",
        len(LINES),
        "requests.jsonl",
        "batch",
        "processed",
    )
    assert created.created_at > 0 and created.expires_at is None
    assert created.id in [f.id for f in openai_client.files.list()]
    assert openai_client.files.retrieve(created.id).filename == "requests.jsonl"
    assert openai_client.files.content(created.id).read() == LINES
    deleted = openai_client.files.delete(created.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (created.id, True, "file")
    with pytest.raises(openai.NotFoundError):
        openai_client.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.files.content(created.id)
    assert created.id not in [f.id for f in openai_client.files.list()]


def test_expires_after_sets_expires_at(openai_client: Any) -> None:
    created = openai_client.files.create(
        file=("notes.txt", io.BytesIO(b"hello")),
        purpose="user_data",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert created.expires_at == created.created_at + 3600
    openai_client.files.delete(created.id)


def test_refusals_are_the_sdks_exceptions(openai_client: Any) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.files.create(file=("x.jsonl", io.BytesIO(LINES)), purpose="assistants")
    assert caught.value.body["param"] == "purpose"
    with pytest.raises(openai.NotFoundError):
        openai_client.files.retrieve("file-000000000000000000000000")
    with pytest.raises(openai.BadRequestError):
        openai_client.files.create(file=("x.jsonl", io.BytesIO(b"")), purpose="batch")


def test_a_key_sees_only_its_own_files(openai_client: Any, live_server: str, admin_key: str) -> None:
    created = httpx.post(
        f"{live_server}/keys", json={"name": "files-other"}, headers={"Authorization": f"Bearer {admin_key}"}
    )
    assert created.status_code == 201, created.text
    other = openai.OpenAI(base_url=live_server, api_key=created.json()["key"], max_retries=0)
    mine = openai_client.files.create(file=("mine.jsonl", io.BytesIO(LINES)), purpose="batch")
    theirs = other.files.create(file=("theirs.jsonl", io.BytesIO(LINES)), purpose="batch")
    assert mine.id not in [f.id for f in other.files.list()]
    assert theirs.id not in [f.id for f in openai_client.files.list()]
    with pytest.raises(openai.NotFoundError):
        other.files.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.files.delete(mine.id)
    assert openai_client.files.retrieve(mine.id).id == mine.id
    openai_client.files.delete(mine.id)
    other.files.delete(theirs.id)


def test_the_presigned_flow_records_the_file_only_once_s3_holds_it(
    openai_client: Any, live_server: str, admin_key: str
) -> None:
    import hashlib

    content = b"".join(LINES for _ in range(50))
    auth = {"Authorization": f"Bearer {admin_key}"}
    started = httpx.post(
        f"{live_server}/files/uploads",
        headers=auth,
        json={
            "filename": "big.jsonl",
            "purpose": "batch",
            "bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        },
    )
    assert started.status_code == 201, started.text
    upload = started.json()
    file_id = upload["id"]
    assert file_id not in [f.id for f in openai_client.files.list()]  # not recorded before S3 holds it
    early = httpx.post(f"{live_server}/files/uploads/{file_id}/complete", headers=auth)
    assert early.status_code == 409 and early.json()["error"]["code"] == "upload_incomplete"
    posted = httpx.post(
        upload["upload"]["url"], data=upload["upload"]["fields"], files={"file": ("big.jsonl", content)}
    )
    assert posted.status_code in (200, 201, 204), posted.text
    done = httpx.post(f"{live_server}/files/uploads/{file_id}/complete", headers=auth)
    assert done.status_code == 200, done.text
    assert json.loads(done.text)["bytes"] == len(content)
    assert openai_client.files.retrieve(file_id).filename == "big.jsonl"
    assert openai_client.files.content(file_id).read() == content
    openai_client.files.delete(file_id)
