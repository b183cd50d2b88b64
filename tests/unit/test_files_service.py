"""FileService on in-memory fakes: owners, expiry, listing order and pages, the presigned flow."""

from __future__ import annotations

import hashlib

import pytest

from relay.backends.s3 import InMemoryObjectStore
from relay.backends.s3_uploads import InMemoryUploads
from relay.errors import BadRequestError, ConflictError, NotFoundError, PayloadTooLargeError
from relay.services.files.models import is_file_id
from relay.services.files.repository import InMemoryFileRepository
from relay.services.files.service import FileLimits, FileService
from tests.clock import Clock

pytestmark = pytest.mark.unit


def service(clock: Clock | None = None) -> tuple[FileService, InMemoryObjectStore, InMemoryUploads]:
    store = InMemoryObjectStore()
    uploads = InMemoryUploads(store.objects)
    limits = FileLimits(inline_max_bytes=100, presigned_max_bytes=1000, inline_download_bytes=50, url_ttl=60)
    return (
        FileService(InMemoryFileRepository(), store, uploads, limits, clock or Clock(1_000_000.0)),
        store,
        uploads,
    )


def test_a_created_file_is_stored_under_its_owner_then_recorded() -> None:
    files, store, _ = service()
    record = files.create("k1", filename="a.jsonl", purpose="batch", content=b"x\n", expires_after=None)
    assert is_file_id(record.id)
    assert store.objects[f"files/k1/{record.id}"] == b"x\n"
    assert record.sha256 == hashlib.sha256(b"x\n").hexdigest()
    assert files.get("k1", record.id) == record
    with pytest.raises(NotFoundError):
        files.get("k2", record.id)


def test_refusals_name_their_parameter() -> None:
    files, _, _ = service()
    for kwargs, param in (
        ({"purpose": "assistants", "content": b"x"}, "purpose"),
        ({"purpose": "batch", "content": b""}, "file"),
    ):
        with pytest.raises(BadRequestError) as caught:
            files.create("k", filename="a", expires_after=None, **kwargs)  # type: ignore[arg-type]
        assert caught.value.param == param
    with pytest.raises(PayloadTooLargeError):
        files.create("k", filename="a", purpose="batch", content=b"x" * 101, expires_after=None)


def test_an_expired_file_is_gone_at_once() -> None:
    clock = Clock(1_000_000.0)
    files, _, _ = service(clock)
    record = files.create("k", filename="a", purpose="user_data", content=b"x", expires_after=3600)
    assert record.expires_at == int(clock.now) + 3600
    clock.now += 3600
    with pytest.raises(NotFoundError):
        files.get("k", record.id)
    assert files.list("k", after=None, limit=10, order="desc", purpose=None) == ([], False)


def test_list_is_newest_first_with_after_and_limit_pages() -> None:
    clock = Clock(1_000_000.0)
    files, _, _ = service(clock)
    ids = []
    for n in range(5):
        clock.now += 1
        ids.append(files.create("k", filename=f"{n}", purpose="batch", content=b"x", expires_after=None).id)
    page, more = files.list("k", after=None, limit=2, order="desc", purpose=None)
    assert [f.id for f in page] == ids[::-1][:2] and more
    page, more = files.list("k", after=page[-1].id, limit=10, order="desc", purpose=None)
    assert [f.id for f in page] == ids[::-1][2:] and not more
    page, _ = files.list("k", after=None, limit=10, order="asc", purpose="batch")
    assert [f.id for f in page] == ids
    assert files.list("k", after=None, limit=10, order="asc", purpose="fine-tune") == ([], False)
    with pytest.raises(BadRequestError):
        files.list("k", after=None, limit=0, order="asc", purpose=None)


def test_large_contents_are_a_presigned_redirect() -> None:
    files, _, _ = service()
    small = files.create("k", filename="s", purpose="batch", content=b"x" * 10, expires_after=None)
    large = files.create("k", filename="l", purpose="batch", content=b"x" * 60, expires_after=None)
    assert b"".join(files.content("k", small.id)) == b"x" * 10  # type: ignore[arg-type]
    assert str(files.content("k", large.id)).startswith("memory://bucket/files/k/")


def test_delete_removes_record_and_bytes() -> None:
    files, store, _ = service()
    record = files.create("k", filename="a", purpose="batch", content=b"x", expires_after=None)
    with pytest.raises(NotFoundError):
        files.delete("other", record.id)
    files.delete("k", record.id)
    assert not store.objects
    with pytest.raises(NotFoundError):
        files.get("k", record.id)


def test_presigned_uploads_are_recorded_from_what_s3_holds() -> None:
    files, store, _ = service()
    content = b"y" * 500
    file_id, post = files.start_upload(
        "k", filename="big é.jsonl", purpose="batch", size=500, sha256="0" * 64, expires_after=None
    )
    assert post.fields["key"] == f"files/k/{file_id}"
    with pytest.raises(NotFoundError):
        files.get("k", file_id)
    with pytest.raises(ConflictError):
        files.complete_upload("k", file_id)
    store.objects[f"files/k/{file_id}"] = content  # the client's POST to S3
    record = files.complete_upload("k", file_id)
    assert (record.filename, record.bytes, record.purpose) == ("big é.jsonl", 500, "batch")
    assert files.complete_upload("k", file_id) == record  # idempotent
    with pytest.raises(ConflictError):
        files.complete_upload("other", file_id)
    with pytest.raises(PayloadTooLargeError):
        files.start_upload("k", filename="x", purpose="batch", size=1001, sha256="0" * 64, expires_after=None)
