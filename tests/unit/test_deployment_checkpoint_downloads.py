"""Checkpoints as links a user can fetch: presigned HTTPS per file, the weights file first."""

from __future__ import annotations

import pytest

from relay.backends.s3 import InMemoryObjectStore
from relay.services.training.downloads import CheckpointDownloads
from relay.services.training.models import Checkpoint

pytestmark = pytest.mark.unit

FOLDER = "projects/ms-1/training/tr-1/checkpoints/checkpoint-8/"


def store(*names: str) -> InMemoryObjectStore:
    objects = InMemoryObjectStore()
    for name in names:
        objects.write(FOLDER + name, b"x", content_type="application/octet-stream")
    objects.write(
        "projects/ms-1/training/tr-1/checkpoints/checkpoint-80/model.safetensors", b"x", content_type="x"
    )
    return objects


def test_adapter_weights_come_first_and_every_file_is_linked() -> None:
    objects = store(
        "adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "relay_checkpoint.json"
    )
    links = CheckpointDownloads(objects, "bucket", 300).links(
        Checkpoint(checkpoint=8, model_download_url=f"s3://bucket/{FOLDER}", created_at=1)
    )
    assert links.url == f"memory://bucket/{FOLDER}adapter_model.safetensors?ttl=300"
    assert sorted(links.files) == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "relay_checkpoint.json",
        "tokenizer.json",
    ]
    assert all(url.startswith("memory://bucket/" + FOLDER) for url in links.files.values())


def test_sharded_models_link_their_index_and_odd_folders_their_first_file() -> None:
    sharded = store(
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"
    )
    links = CheckpointDownloads(sharded, "bucket", 60).links(
        Checkpoint(checkpoint=8, model_download_url=f"s3://bucket/{FOLDER.rstrip('/')}", created_at=1)
    )
    assert links.url is not None and links.url.endswith("model.safetensors.index.json?ttl=60")
    assert len(links.files) == 3
    odd = CheckpointDownloads(store("weights.pt"), "bucket", 60).links(
        Checkpoint(checkpoint=8, model_download_url=f"s3://bucket/{FOLDER}", created_at=1)
    )
    assert odd.url is not None and odd.url.endswith("weights.pt?ttl=60")


def test_nothing_to_presign_outside_the_bucket_or_in_an_empty_folder() -> None:
    downloads = CheckpointDownloads(store(), "bucket", 60)
    elsewhere = downloads.links(Checkpoint(checkpoint=1, model_download_url="s3://other/x/", created_at=1))
    assert elsewhere.url is None and elsewhere.files == {}
    empty = downloads.links(
        Checkpoint(checkpoint=1, model_download_url="s3://bucket/projects/none/", created_at=1)
    )
    assert empty.url is None and empty.files == {}
