"""Projects: create, list, read with everything they hold, and delete with nothing left behind."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from typing import Protocol

from relay.backends.s3 import ObjectStore
from relay.errors import BadRequestError, ConflictError
from relay.services.keys.access import can_see, owner_of
from relay.services.keys.models import Principal
from relay.services.layout import PROJECT_PREFIX, is_id, new_id, project_prefix, staging_prefix
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


class ProjectLookup(Protocol):
    def get(self, project_id: str) -> Project | None: ...


def require_owned(projects: ProjectLookup, project_id: str, principal: Principal) -> Project:
    """The project, if it exists and the principal may see it; else 404 (never 403: that would
    confirm another key's project exists). Every service under a project checks through this."""
    project = projects.get(project_id) if is_id(project_id, PROJECT_PREFIX) else None
    if project is None or not can_see(principal, project.owner):
        raise project_not_found(project_id)
    return project


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

    def create(self, name: str | None, principal: Principal) -> Project:
        now = int(self._clock())
        project_id = new_id(PROJECT_PREFIX)
        project = Project(
            id=project_id,
            name=clean_name(name, default=project_id),
            created_at=now,
            updated_at=now,
            owner=owner_of(principal),
        )
        self._projects.create(project)
        return project

    def list(self, principal: Principal) -> list[Project]:
        return [p for p in self._projects.list() if can_see(principal, p.owner)]

    def get_owned(self, project_id: str, principal: Principal) -> Project:
        return require_owned(self._projects, project_id, principal)

    def detail(self, project_id: str, principal: Principal) -> ProjectContents:
        contents = self._projects.contents(project_id) if is_id(project_id, PROJECT_PREFIX) else None
        if contents is None or not can_see(principal, contents.project.owner):
            raise project_not_found(project_id)
        return contents

    def delete(self, project_id: str, principal: Principal) -> None:
        """Remove the project, its objects and its records; 409 while it trains or serves."""
        self.get_owned(project_id, principal)
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
        self._objects.delete_prefix(staging_prefix(project_id))  # uploads never completed
        self._projects.purge(project_id)
