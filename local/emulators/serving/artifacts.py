"""Model data from (moto) S3 onto local disk, as SageMaker stages it under /opt/ml/model.

Accepted: `ModelDataUrl` (a `.tar.gz` object), `ModelDataSource.S3DataSource` with
`S3DataType: S3Prefix` and `CompressionType: None` (an uncompressed prefix ending in `/`, as
checkpoints are stored) or `S3Object` + `Gzip` (a tarball), and an `s3://` model id in the
container environment (`OPTION_MODEL_ID` / `HF_MODEL_ID`), read as a prefix.
"""

from __future__ import annotations

import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelData:
    uri: str
    compressed: bool  # a .tar.gz object, else an S3 prefix


class ArtifactError(Exception):
    """The model data cannot be read; the message is the component's FailureReason."""


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def model_data(container: dict[str, Any], model_id: str | None) -> ModelData | None:
    """Where a container's model data is, from the request fields SageMaker takes; None if nowhere."""
    source = (container.get("ModelDataSource") or {}).get("S3DataSource")
    if source:
        compressed = source.get("CompressionType", "None") == "Gzip"
        return ModelData(str(source["S3Uri"]), compressed)
    if container.get("ModelDataUrl"):
        return ModelData(str(container["ModelDataUrl"]), True)
    if model_id and model_id.startswith("s3://"):
        return ModelData(model_id if model_id.endswith("/") else model_id + "/", False)
    return None


def exists(s3: Any, data: ModelData) -> bool:
    bucket, key = split_uri(data.uri)
    try:
        if data.compressed:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("KeyCount"))
    except Exception:  # any S3 refusal means SageMaker could not access it either
        return False


def download(s3: Any, data: ModelData, target: Path) -> Path:
    """Fetch the model data into `target` (created) and return it."""
    target.mkdir(parents=True, exist_ok=True)
    bucket, key = split_uri(data.uri)
    try:
        if data.compressed:
            with tempfile.TemporaryDirectory() as scratch:
                archive = Path(scratch) / "model.tar.gz"
                s3.download_file(bucket, key, str(archive))
                with tarfile.open(archive, "r:gz") as tar:
                    tar.extractall(target, filter="data")
            return target
        found = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            for item in page.get("Contents", []):
                relative = item["Key"][len(key) :].lstrip("/")
                if relative:
                    (target / relative).parent.mkdir(parents=True, exist_ok=True)
                    s3.download_file(bucket, item["Key"], str(target / relative))
                    found += 1
    except Exception as exc:
        raise ArtifactError(f"Could not download model data from {data.uri}: {exc}") from exc
    if not found:
        raise ArtifactError(f"No model data found at {data.uri}")
    return target
