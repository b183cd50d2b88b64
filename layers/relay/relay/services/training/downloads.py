"""Presigned HTTPS links to a checkpoint's files, for `model_download_url` (as datasets have).

A checkpoint is a folder the trainer wrote (weights, config, tokenizer, Relay's metadata), and
one link cannot fetch a folder: `model_download_url` is the weights file (the LoRA adapter, the
single-file weights, or the shard index of a sharded model), and `model_files` links every
file by its name in the folder. The records keep the `s3://` prefix, which deployments read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from relay.services.training.models import Checkpoint

# The file a user most wants first, in order: an adapter, whole weights, the shard index.
PRIMARY_FILES = (
    "adapter_model.safetensors",
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


class DownloadStore(Protocol):
    def keys(self, prefix: str) -> list[str]: ...
    def presign_get(self, key: str, *, ttl: int, filename: str) -> str: ...


@dataclass(frozen=True)
class CheckpointDownload:
    checkpoint: Checkpoint
    # None when the folder is not in this stack's bucket or holds no files (nothing to presign).
    url: str | None
    files: dict[str, str] = field(default_factory=dict)


class CheckpointDownloads:
    def __init__(self, objects: DownloadStore, bucket: str, ttl: int) -> None:
        self._objects = objects
        self._prefix = f"s3://{bucket}/"
        self._ttl = ttl

    def links(self, checkpoint: Checkpoint) -> CheckpointDownload:
        uri = checkpoint.model_download_url
        if not uri.startswith(self._prefix):
            return CheckpointDownload(checkpoint, None)
        folder = uri.removeprefix(self._prefix).rstrip("/") + "/"
        names = sorted(key.removeprefix(folder) for key in self._objects.keys(folder) if key != folder)
        files = {
            name: self._objects.presign_get(folder + name, ttl=self._ttl, filename=name.rsplit("/", 1)[-1])
            for name in names
        }
        primary = next((files[name] for name in PRIMARY_FILES if name in files), None)
        if primary is None and files:
            primary = files[names[0]]
        return CheckpointDownload(checkpoint, primary, files)
