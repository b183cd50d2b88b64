"""The deployments feature's ports over the other features: training checkpoints and the model registry.

Checkpoint facts come from the files the trainer writes beside each checkpoint
(`training/relay_training/checkpoints.py`): `relay_checkpoint.json` says whether the weights are
a LoRA adapter, `labels.json` names a classifier's labels in id order.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from typing import Any

from relay.backends.s3 import ObjectStore
from relay.errors import BadRequestError, NotFoundError
from relay.services.deployments.models import (
    CheckpointFacts,
    RegistryEntry,
    TrainedCheckpoint,
    TrainingJobView,
)
from relay.services.registry.repository import ModelRegistryRepository
from relay.services.training.repository import TrainingJobRepository
from relay.targets import SageMakerTarget, normalize_model_id

CHECKPOINT_METADATA = "relay_checkpoint.json"
LABELS_FILE = "labels.json"


class TrainingCheckpoints:
    def __init__(self, jobs: TrainingJobRepository, objects: ObjectStore, bucket: str) -> None:
        self._jobs = jobs
        self._objects = objects
        self._prefix = f"s3://{bucket}/"

    def training_job(self, project_id: str, job_id: str) -> TrainingJobView | None:
        job = self._jobs.get(project_id, job_id)
        if job is None:
            return None
        checkpoints = tuple(
            TrainedCheckpoint(c.checkpoint, c.model_download_url)
            for c in self._jobs.checkpoints(project_id, job_id)
            if c.model_download_url.startswith(self._prefix)
        )
        return TrainingJobView(job.id, job.status, job.base_model, job.task_type, checkpoints)

    def _json(self, key: str) -> dict[str, Any] | None:
        if self._objects.head(key) is None:
            return None
        document = json.loads(b"".join(self._objects.chunks(key)))
        return document if isinstance(document, dict) else None

    def facts(self, checkpoint: TrainedCheckpoint) -> CheckpointFacts:
        folder = checkpoint.model_data_url.removeprefix(self._prefix).rstrip("/") + "/"
        metadata = self._json(folder + CHECKPOINT_METADATA)
        if metadata is None:
            raise BadRequestError(
                f"checkpoint: checkpoint {checkpoint.number} has no {CHECKPOINT_METADATA}; it was not "
                "written by Relay's trainer",
                param="checkpoint",
            )
        labels = self._json(folder + LABELS_FILE) or {}
        return CheckpointFacts(
            adapter=bool(metadata.get("adapter")),
            labels=tuple(str(label) for label in labels.get("labels") or ()),
        )


class RegistryAdapter:
    """Deployment entries in the model registry; entries it did not write are never touched."""

    def __init__(self, registry: ModelRegistryRepository) -> None:
        self._registry = registry

    def claim(self, entry: RegistryEntry) -> None:
        self._registry.put(
            SageMakerTarget(
                id=normalize_model_id(entry.name),
                endpoint_name=entry.endpoint_name,
                flavour=entry.flavour,  # type: ignore[arg-type]
                type=entry.type,
                created_at=entry.created_at,
                inference_component=entry.inference_component,
                labels=entry.labels,
                metadata=dict(entry.metadata),
                deployment_id=entry.deployment_id,
                status=entry.status,
            )
        )

    def _ours(self, name: str) -> SageMakerTarget | None:
        found = self._registry.get(name)
        return found if found is not None and found.deployment_id else None

    def set_status(self, name: str, status: str) -> None:
        found = self._ours(name)
        if found is not None and found.status != status:
            self._registry.put(replace(found, status=status), overwrite=True)

    def release(self, name: str) -> None:
        if self._ours(name) is None:
            return
        with contextlib.suppress(NotFoundError):  # removed by a concurrent release
            self._registry.delete(name)
