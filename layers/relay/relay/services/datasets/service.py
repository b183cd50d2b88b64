"""Datasets as the API serves them: read one, list a project's, presign its download, delete it.

Pending, verifying and invalid records expire from the table by TTL (`expires_at`); a delete
removes the record and every object under the dataset's prefix, but never while a training
job that has not finished uses the dataset.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from relay.backends.s3 import ObjectStore
from relay.errors import ConflictError
from relay.services.datasets.models import Dataset
from relay.services.datasets.repository import DatasetRepository, dataset_not_found
from relay.services.datasets.staging import staging_folder
from relay.services.keys.models import Principal
from relay.services.layout import DATASET_PREFIX, is_id, project_prefix
from relay.services.projects.service import ProjectService
from relay.services.training.models import TrainingJob
from relay.services.training.status import is_terminal
from relay.settings import Settings


class TrainingJobList(Protocol):
    """What a dataset delete reads of the training jobs: a project's jobs."""

    def list(self, project_id: str) -> list[TrainingJob]: ...


class DatasetService:
    def __init__(
        self,
        projects: ProjectService,
        datasets: DatasetRepository,
        jobs: TrainingJobList,
        objects: ObjectStore,
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._projects = projects
        self._datasets = datasets
        self._jobs = jobs
        self._objects = objects
        self._settings = settings
        self._clock = clock

    def get(self, project_id: str, dataset_id: str, principal: Principal) -> Dataset:
        self._projects.get_owned(project_id, principal)
        found = self._datasets.get(project_id, dataset_id) if is_id(dataset_id, DATASET_PREFIX) else None
        if found is None:
            raise dataset_not_found(dataset_id)
        return found

    def list(self, project_id: str, principal: Principal) -> list[Dataset]:
        self._projects.get_owned(project_id, principal)
        return self._datasets.list(project_id)

    def download_url(self, dataset: Dataset) -> str | None:
        if not dataset.is_uploaded:
            return None
        ttl = int(self._settings.download_url_ttl)
        return self._objects.presign_get(dataset.object_key, ttl=ttl, filename=dataset.filename)

    def delete(self, project_id: str, dataset_id: str, principal: Principal) -> None:
        """Remove the dataset and its object; 409 while a non-terminal training job uses it."""
        self.get(project_id, dataset_id, principal)
        before = self._datasets.begin_delete(project_id, dataset_id, int(self._clock()))
        users = [
            job.id
            for job in self._jobs.list(project_id)
            if not is_terminal(job.status) and dataset_id in job.dataset_ids
        ]
        if users:
            self._datasets.restore(before)
            raise ConflictError(
                f"Dataset {dataset_id} is used by training job(s) {', '.join(users)} that have not finished",
                code="dataset_in_use",
            )
        self._objects.delete_prefix(f"{project_prefix(project_id)}datasets/{dataset_id}/")
        self._objects.delete_prefix(staging_folder(project_id, dataset_id))
        self._datasets.remove(project_id, dataset_id)
