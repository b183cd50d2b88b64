"""How many model copies SageMaker runs for deployments, read on detail reads only.

Each read is one DescribeInferenceComponent per component, so list routes never call this (a
project's list would cost a call per deployment). A copy count is information, not a condition
of the read: when SageMaker cannot be read it is unknown (None), and the detail still answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from relay.backends.sagemaker.hosting import ComponentState
from relay.errors import RelayError
from relay.observability import logger
from relay.services.deployments import status as st
from relay.services.deployments.models import Deployment, SageMakerNames


class ComponentReader(Protocol):
    def component(self, name: str) -> ComponentState | None:
        """The component's state; None when SageMaker has no such component."""
        ...


class CopyCounts:
    def __init__(self, hosting: ComponentReader, names: SageMakerNames) -> None:
        self._hosting = hosting
        self._names = names

    def of(self, deployments: Iterable[Deployment]) -> dict[str, int | None]:
        """Running copies by deployment id; None where there is no component or it could not be read."""
        read: dict[str, int | None] = {}  # by component name: adapters on one base share a describe
        return {d.id: self._copies(d, read) for d in deployments}

    def _copies(self, deployment: Deployment, read: dict[str, int | None]) -> int | None:
        if st.is_terminal(deployment.status):
            return None  # its component is deleted (or being deleted): nothing to describe
        own = self._current(self._names.component(deployment.id), read)
        if own is None or deployment.base_component is None:
            return own
        # An adapter component has no copies of its own: it runs in its base component's.
        return self._current(deployment.base_component, read)

    def _current(self, component: str, read: dict[str, int | None]) -> int | None:
        if component not in read:
            try:
                state = self._hosting.component(component)
            except RelayError as exc:
                logger.warning(
                    "could not read the copy count of an inference component",
                    extra={"component": component, "error": exc.message},
                )
                state = None
            read[component] = None if state is None else state.current_copies
        return read[component]
