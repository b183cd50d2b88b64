"""The registry's storage port and its in-memory fake."""

from __future__ import annotations

from typing import Protocol

from relay.errors import ConflictError, NotFoundError
from relay.services.registry.models import SageMakerTarget, normalize_model_id


def already_registered(model_id: str) -> str:
    return f"Model {model_id} is already registered"


def not_registered(model_id: str) -> NotFoundError:
    return NotFoundError(f"Model {model_id} is not registered", code="model_not_found")


class ModelRegistryRepository(Protocol):
    def get(self, model_id: str) -> SageMakerTarget | None:
        """The record for `model_id` (`name` means `name/dev`), or None."""
        ...

    def list(self) -> list[SageMakerTarget]: ...

    def put(self, target: SageMakerTarget, *, overwrite: bool = False) -> None:
        """Store `target`; ConflictError when it exists and `overwrite` is false."""
        ...

    def delete(self, model_id: str) -> None:
        """Remove the record; NotFoundError (`model_not_found`) when there is none."""
        ...


class InMemoryModelRegistry:
    def __init__(self, targets: list[SageMakerTarget] | None = None) -> None:
        self.items = {t.id: t for t in targets or []}

    def get(self, model_id: str) -> SageMakerTarget | None:
        return self.items.get(normalize_model_id(model_id))

    def list(self) -> list[SageMakerTarget]:
        return sorted(self.items.values(), key=lambda t: t.id)

    def put(self, target: SageMakerTarget, *, overwrite: bool = False) -> None:
        if not overwrite and target.id in self.items:
            raise ConflictError(already_registered(target.id))
        self.items[target.id] = target

    def delete(self, model_id: str) -> None:
        if self.items.pop(normalize_model_id(model_id), None) is None:
            raise not_registered(model_id)
