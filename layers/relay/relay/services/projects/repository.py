"""The projects storage port, and an in-memory fake holding the whole partition of each project.

The fake keeps datasets, training jobs and deployments beside the projects, as the one table
does, so the dataset and training fakes share it and a project delete sees their children.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Protocol

from relay.errors import ConflictError, NotFoundError
from relay.services.datasets.models import Dataset
from relay.services.projects.models import DeploymentRef, Project, ProjectContents
from relay.services.training.models import Checkpoint, TrainingJob


def project_not_found(project_id: str) -> NotFoundError:
    return NotFoundError(f"No project with id '{project_id}'")


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


class InMemoryProjectRepository:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.projects: dict[str, Project] = {}
        self.datasets: dict[tuple[str, str], Dataset] = {}
        self.training_jobs: dict[tuple[str, str], TrainingJob] = {}
        self.checkpoints: dict[tuple[str, str], dict[int, Checkpoint]] = {}
        # Written by the deployments feature; tests seed them directly.
        self.deployments: dict[str, list[DeploymentRef]] = {}

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
        with self.lock:
            project = self.projects.get(project_id)
            if project is None:
                return None
            return ProjectContents(
                project=project,
                datasets=sorted(
                    (d for (pid, _), d in self.datasets.items() if pid == project_id),
                    key=lambda d: (d.created_at, d.id),
                ),
                training_jobs=sorted(
                    (j for (pid, _), j in self.training_jobs.items() if pid == project_id),
                    key=lambda j: (j.created_at, j.id),
                ),
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
            for key in [k for k in self.training_jobs if k[0] == project_id]:
                del self.training_jobs[key]
                self.checkpoints.pop(key, None)
            self.deployments.pop(project_id, None)
