"""The datasets storage port, and an in-memory fake with the same conditional rules."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from relay.errors import ConflictError, NotFoundError
from relay.services.datasets import status as st
from relay.services.datasets.models import Dataset, DatasetRejection
from relay.services.projects.repository import InMemoryProjectRepository, project_not_found


def dataset_not_found(dataset_id: str) -> NotFoundError:
    return NotFoundError(f"No dataset with id '{dataset_id}' in this project")


def waiting_for_upload(dataset_id: str) -> ConflictError:
    return ConflictError(f"Dataset {dataset_id} is no longer waiting for its upload")


class DatasetRepository(Protocol):
    def add(self, dataset: Dataset) -> None:
        """Insert a new dataset into an active project (NotFoundError otherwise)."""
        ...

    def get(self, project_id: str, dataset_id: str) -> Dataset | None: ...
    def list(self, project_id: str) -> list[Dataset]: ...
    def mark_uploaded(self, dataset: Dataset, now: int) -> Dataset:
        """Record the verified upload (`dataset` carries sha256, size, format, rows).

        Only if the record is still in the state `dataset` was read in (`pending`, or `verifying`
        when the worker verified it); ConflictError otherwise.
        """
        ...

    def begin_verify(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        """Move a pending dataset to `verifying` (ConflictError if it is not pending)."""
        ...

    def abort_verify(self, project_id: str, dataset_id: str, now: int) -> None:
        """Undo begin_verify when the hand-off to the worker failed (ConflictError if not verifying)."""
        ...

    def mark_invalid(self, dataset: Dataset, error: DatasetRejection, now: int, expires_at: int) -> Dataset:
        """Record why a verifying dataset was refused, and when TTL removes it (ConflictError if not verifying)."""
        ...

    def begin_delete(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        """Move the dataset to `deleting`; returns it as it was before."""
        ...

    def restore(self, dataset: Dataset) -> None:
        """Undo begin_delete: put back the state the dataset had."""
        ...

    def remove(self, project_id: str, dataset_id: str) -> None: ...


class InMemoryDatasetRepository:
    """Datasets in the project fake's partition (so a project delete sees them)."""

    def __init__(self, projects: InMemoryProjectRepository) -> None:
        self._p = projects

    def add(self, dataset: Dataset) -> None:
        with self._p.lock:
            project = self._p.projects.get(dataset.project_id)
            if project is None or project.state != "active":
                raise project_not_found(dataset.project_id)
            key = (dataset.project_id, dataset.id)
            if key in self._p.datasets:
                raise ConflictError(f"Dataset {dataset.id} already exists")
            self._p.datasets[key] = dataset

    def get(self, project_id: str, dataset_id: str) -> Dataset | None:
        return self._p.datasets.get((project_id, dataset_id))

    def list(self, project_id: str) -> list[Dataset]:
        contents = self._p.contents(project_id)
        return contents.datasets if contents else []

    def mark_uploaded(self, dataset: Dataset, now: int) -> Dataset:
        with self._p.lock:
            current = self._p.datasets.get((dataset.project_id, dataset.id))
            if dataset.state not in st.COMPLETABLE or current is None or current.state != dataset.state:
                raise waiting_for_upload(dataset.id)
            done = replace(dataset, state=st.UPLOADED, uploaded_at=now, updated_at=now, expires_at=None)
            self._p.datasets[(dataset.project_id, dataset.id)] = done
            return done

    def _move(self, project_id: str, dataset_id: str, target: st.DatasetState, **changes: Any) -> Dataset:
        with self._p.lock:
            current = self._p.datasets.get((project_id, dataset_id))
            if current is None or not st.can_transition(current.state, target):
                raise ConflictError(f"Dataset {dataset_id} cannot become {target} now")
            moved = replace(current, state=target, **changes)
            self._p.datasets[(project_id, dataset_id)] = moved
            return moved

    def begin_verify(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        current = self.get(project_id, dataset_id)
        if current is None or current.state != st.PENDING:
            raise waiting_for_upload(dataset_id)
        return self._move(project_id, dataset_id, st.VERIFYING, updated_at=now)

    def abort_verify(self, project_id: str, dataset_id: str, now: int) -> None:
        current = self.get(project_id, dataset_id)
        if current is None or current.state != st.VERIFYING:
            raise ConflictError(f"Dataset {dataset_id} is no longer being verified")
        self._move(project_id, dataset_id, st.PENDING, updated_at=now)

    def mark_invalid(self, dataset: Dataset, error: DatasetRejection, now: int, expires_at: int) -> Dataset:
        current = self.get(dataset.project_id, dataset.id)
        if current is None or current.state != st.VERIFYING:
            raise ConflictError(f"Dataset {dataset.id} is no longer being verified")
        return self._move(
            dataset.project_id, dataset.id, st.INVALID, error=error, updated_at=now, expires_at=expires_at
        )

    def begin_delete(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        with self._p.lock:
            current = self._p.datasets.get((project_id, dataset_id))
            if current is None:
                raise dataset_not_found(dataset_id)
            self._move(project_id, dataset_id, st.DELETING, updated_at=now)
            return current

    def restore(self, dataset: Dataset) -> None:
        with self._p.lock:
            current = self._p.datasets.get((dataset.project_id, dataset.id))
            if current is not None and current.state == st.DELETING:
                self._p.datasets[(dataset.project_id, dataset.id)] = dataset

    def remove(self, project_id: str, dataset_id: str) -> None:
        with self._p.lock:
            self._p.datasets.pop((project_id, dataset_id), None)
