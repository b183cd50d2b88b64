"""Storage ports for projects and datasets, and in-memory fakes with the same conditional rules."""

from __future__ import annotations

import builtins
import threading
from dataclasses import replace
from typing import Any, Protocol

from relay.errors import ConflictError, NotFoundError
from relay.services.control.layout import Dataset, Project, ProjectContents

# The states a verified upload may be recorded from: `complete` in the request, or the worker.
VERIFIABLE = ("pending", "verifying")


def project_not_found(project_id: str) -> NotFoundError:
    return NotFoundError(f"No project with id '{project_id}'")


def dataset_not_found(dataset_id: str) -> NotFoundError:
    return NotFoundError(f"No dataset with id '{dataset_id}' in this project")


class ProjectRepository(Protocol):
    def create(self, project: Project) -> None: ...
    def get(self, project_id: str) -> Project | None: ...
    def list(self) -> list[Project]: ...
    def contents(self, project_id: str) -> ProjectContents | None: ...
    def begin_delete(self, project_id: str, now: int) -> ProjectContents:
        """Move the project to `deleting` (again, if a delete was cut short); NotFoundError if absent."""
        ...

    def abort_delete(self, project_id: str, now: int) -> None: ...
    def purge(self, project_id: str) -> None:
        """Delete every item of the project's partition."""
        ...


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

    def mark_invalid(self, dataset: Dataset, error: dict[str, Any], now: int, expires_at: int) -> Dataset:
        """Record why a verifying dataset was refused, and when TTL removes it (ConflictError if not verifying)."""
        ...

    def begin_delete(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        """Move the dataset to `deleting`; returns it as it was before."""
        ...

    def restore(self, dataset: Dataset) -> None:
        """Undo begin_delete: put back the state the dataset had."""
        ...

    def remove(self, project_id: str, dataset_id: str) -> None: ...
    def training_jobs(self, project_id: str) -> builtins.list[dict[str, object]]: ...


class InMemoryProjectRepository:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.projects: dict[str, Project] = {}
        self.datasets: dict[tuple[str, str], Dataset] = {}
        # The training and deployment features write these; tests of project reads seed them directly.
        self.training_jobs: dict[str, list[dict[str, object]]] = {}
        self.deployments: dict[str, list[dict[str, object]]] = {}

    def create(self, project: Project) -> None:
        with self.lock:
            if project.id in self.projects:
                raise ConflictError(f"Project {project.id} already exists")
            self.projects[project.id] = project

    def get(self, project_id: str) -> Project | None:
        return self.projects.get(project_id)

    def list(self) -> list[Project]:
        return sorted(self.projects.values(), key=lambda p: (p.created_at, p.id))

    def contents(self, project_id: str) -> ProjectContents | None:
        project = self.projects.get(project_id)
        if project is None:
            return None
        return ProjectContents(
            project=project,
            datasets=sorted(
                (d for (pid, _), d in self.datasets.items() if pid == project_id),
                key=lambda d: (d.created_at, d.id),
            ),
            training_jobs=list(self.training_jobs.get(project_id, [])),
            deployments=list(self.deployments.get(project_id, [])),
        )

    def begin_delete(self, project_id: str, now: int) -> ProjectContents:
        with self.lock:
            project = self.projects.get(project_id)
            if project is None:
                raise project_not_found(project_id)
            self.projects[project_id] = replace(project, state="deleting", updated_at=now)
        contents = self.contents(project_id)
        assert contents is not None
        return contents

    def abort_delete(self, project_id: str, now: int) -> None:
        with self.lock:
            project = self.projects.get(project_id)
            if project is not None and project.state == "deleting":
                self.projects[project_id] = replace(project, state="active", updated_at=now)

    def purge(self, project_id: str) -> None:
        with self.lock:
            self.projects.pop(project_id, None)
            for key in [k for k in self.datasets if k[0] == project_id]:
                del self.datasets[key]
            self.training_jobs.pop(project_id, None)
            self.deployments.pop(project_id, None)


class InMemoryDatasetRepository:
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
            if dataset.state not in VERIFIABLE or current is None or current.state != dataset.state:
                raise ConflictError(f"Dataset {dataset.id} is no longer waiting for its upload")
            done = replace(dataset, state="uploaded", uploaded_at=now, updated_at=now, expires_at=None)
            self._p.datasets[(dataset.project_id, dataset.id)] = done
            return done

    def _move(self, project_id: str, dataset_id: str, expected: str, **changes: Any) -> Dataset:
        with self._p.lock:
            current = self._p.datasets.get((project_id, dataset_id))
            if current is None or current.state != expected:
                raise ConflictError(f"Dataset {dataset_id} is no longer {expected}")
            moved = replace(current, **changes)
            self._p.datasets[(project_id, dataset_id)] = moved
            return moved

    def begin_verify(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        return self._move(project_id, dataset_id, "pending", state="verifying", updated_at=now)

    def abort_verify(self, project_id: str, dataset_id: str, now: int) -> None:
        self._move(project_id, dataset_id, "verifying", state="pending", updated_at=now)

    def mark_invalid(self, dataset: Dataset, error: dict[str, Any], now: int, expires_at: int) -> Dataset:
        return self._move(
            dataset.project_id,
            dataset.id,
            "verifying",
            state="invalid",
            error=error,
            updated_at=now,
            expires_at=expires_at,
        )

    def begin_delete(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        with self._p.lock:
            current = self._p.datasets.get((project_id, dataset_id))
            if current is None:
                raise dataset_not_found(dataset_id)
            self._p.datasets[(project_id, dataset_id)] = replace(current, state="deleting", updated_at=now)
            return current

    def restore(self, dataset: Dataset) -> None:
        with self._p.lock:
            if (dataset.project_id, dataset.id) in self._p.datasets:
                self._p.datasets[(dataset.project_id, dataset.id)] = dataset

    def remove(self, project_id: str, dataset_id: str) -> None:
        with self._p.lock:
            self._p.datasets.pop((project_id, dataset_id), None)

    def training_jobs(self, project_id: str) -> builtins.list[dict[str, object]]:
        return list(self._p.training_jobs.get(project_id, []))
