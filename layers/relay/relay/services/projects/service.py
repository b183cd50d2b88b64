"""Projects: create, list, read with everything they hold, and delete with nothing left behind."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable

from relay.backends.s3 import ObjectStore
from relay.errors import BadRequestError, ConflictError
from relay.services.layout import PROJECT_PREFIX, is_id, new_id, project_prefix
from relay.services.projects.models import Project, ProjectContents
from relay.services.projects.repository import ProjectRepository, project_not_found

MAX_NAME_LENGTH = 256


def clean_name(value: str | None, *, default: str, param: str = "name") -> str:
    """A display name: any language, trimmed, at most MAX_NAME_LENGTH characters, no control characters."""
    if value is None or not value.strip():
        return default
    name = unicodedata.normalize("NFC", value.strip())
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequestError(f"{param} must be at most {MAX_NAME_LENGTH} characters", param=param)
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise BadRequestError(f"{param} must not contain control characters", param=param)
    return name


class ProjectService:
    def __init__(
        self,
        projects: ProjectRepository,
        objects: ObjectStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._projects = projects
        self._objects = objects
        self._clock = clock

    def create(self, name: str | None) -> Project:
        now = int(self._clock())
        project_id = new_id(PROJECT_PREFIX)
        project = Project(
            id=project_id, name=clean_name(name, default=project_id), created_at=now, updated_at=now
        )
        self._projects.create(project)
        return project

    def list(self) -> list[Project]:
        return self._projects.list()

    def require(self, project_id: str) -> Project:
        project = self._projects.get(project_id) if is_id(project_id, PROJECT_PREFIX) else None
        if project is None:
            raise project_not_found(project_id)
        return project

    def detail(self, project_id: str) -> ProjectContents:
        contents = self._projects.contents(project_id) if is_id(project_id, PROJECT_PREFIX) else None
        if contents is None:
            raise project_not_found(project_id)
        return contents

    def delete(self, project_id: str) -> None:
        """Remove the project, its objects and its records; 409 while it trains or serves."""
        if not is_id(project_id, PROJECT_PREFIX):
            raise project_not_found(project_id)
        contents = self._projects.begin_delete(project_id, int(self._clock()))
        jobs = contents.active_training_jobs()
        deployments = contents.active_deployments()
        if jobs or deployments:
            self._projects.abort_delete(project_id, int(self._clock()))
            busy = [f"training job {j.id} ({j.status})" for j in jobs]
            busy += [f"deployment {d.id} ({d.status})" for d in deployments]
            raise ConflictError(
                f"Project {project_id} still has {', '.join(busy)}; "
                "cancel the training jobs and delete the deployments first",
                code="project_in_use",
            )
        # Objects before records: if this is cut short, the project is still listed and a
        # second delete finishes the job.
        self._objects.delete_prefix(project_prefix(project_id))
        self._projects.purge(project_id)
