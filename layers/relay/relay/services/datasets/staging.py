"""Presigned uploads are staged: nothing under `projects/` exists without a record saying so.

A client POSTs to `staging/<ms-id>/<ds-id>/<file>`. `complete` verifies the staged object,
copies it under the project and records it uploaded, then drops the staged copy. What is never
completed expires by the bucket's lifecycle rule; a POST that arrives after its dataset or
project was deleted raises an S3 event, and `sweep` removes it.
"""

from __future__ import annotations

from dataclasses import replace

from relay.backends.s3 import ObjectStore
from relay.errors import ConflictError
from relay.observability import logger
from relay.services.datasets import status as st
from relay.services.datasets.models import Dataset
from relay.services.datasets.repository import DatasetRepository
from relay.services.layout import dataset_object_key, parse_staging_key, staging_prefix

# A staged object is still wanted while its record waits for it or is being verified from it.
_WAITING = frozenset({st.PENDING, st.VERIFYING})


def staging_folder(project_id: str, dataset_id: str) -> str:
    return f"{staging_prefix(project_id)}{dataset_id}/"


class StagedUploads:
    def __init__(self, datasets: DatasetRepository, objects: ObjectStore) -> None:
        self._datasets = datasets
        self._objects = objects

    def record(self, verified: Dataset, now: int) -> Dataset:
        """Move a verified upload into place and record it uploaded (ConflictError if it cannot be)."""
        final = dataset_object_key(verified.project_id, verified.id, verified.filename)
        placed = verified
        if verified.object_key != final:  # records made before staging point at the final key already
            self._objects.copy(verified.object_key, final)
            placed = replace(verified, object_key=final)
        try:
            done = self._datasets.mark_uploaded(placed, now)
        except ConflictError:
            current = self._datasets.get(verified.project_id, verified.id)
            if current is None or current.state != st.UPLOADED:
                # Deleted (or refused) meanwhile: the copy just made belongs to no record.
                self._objects.delete_prefix(final)
            raise
        self.drop(verified.project_id, verified.id)
        return done

    def drop(self, project_id: str, dataset_id: str) -> None:
        """Remove a dataset's staged upload, every version (the lifecycle rule would, later)."""
        self._objects.delete_prefix(staging_folder(project_id, dataset_id))

    def sweep(self, key: str) -> bool:
        """On an object event under `staging/`: remove the object unless a record still waits for it.

        Returns whether it was removed. A key that is not a staged upload's is removed too: nothing
        else may live under the prefix.
        """
        parsed = parse_staging_key(key)
        if parsed is not None:
            dataset = self._datasets.get(*parsed)
            if dataset is not None and dataset.state in _WAITING and dataset.object_key == key:
                return False
        self._objects.delete_prefix(key)
        logger.info("removed a staged upload with no record waiting for it", extra={"key": key})
        return True
