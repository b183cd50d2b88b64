"""Copy counts on the deployment and engine details: read from the inference component (an adapter's
from its base), unknown (None) without a component or when SageMaker cannot be read, never read by
list operations."""

from __future__ import annotations

import pytest

from relay.backends.sagemaker.hosting import ComponentState
from relay.errors import ServiceUnavailableError
from relay.services.deployments.copies import CopyCounts
from tests.unit.test_deployment_service import OWNER, PROJECT, World

pytestmark = pytest.mark.unit


@pytest.fixture()
def world() -> World:
    return World()


class CountingReader:
    """The hosting fake's describe, counted per component."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.described: list[str] = []

    def component(self, name: str) -> ComponentState | None:
        self.described.append(name)
        return self.world.hosting.component(name)


class UnreadableReader:
    def component(self, name: str) -> ComponentState | None:
        raise ServiceUnavailableError(f"Could not reach SageMaker for DescribeInferenceComponent {name}")


def counted(world: World) -> CountingReader:
    reader = CountingReader(world)
    world.service.copies = CopyCounts(reader, world.names)
    return reader


def test_a_deployed_deployment_reports_its_copies_and_none_before_and_after(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5)
    assert world.service.detail(PROJECT, made.id, OWNER) == (made, None)  # no component yet
    world.run(f"{made.id}-create-1")
    found, copies = world.service.detail(PROJECT, made.id, OWNER)
    assert found.status == "Deployed" and copies == 1
    world.service.delete(PROJECT, made.id, OWNER)
    world.run(f"{made.id}-delete-1")
    reader = counted(world)
    found, copies = world.service.detail(PROJECT, made.id, OWNER)
    assert found.status == "Terminated" and copies is None
    assert reader.described == []  # an ended deployment's component is not described


def test_an_adapter_reports_its_base_components_copies_in_one_engine_read(world: World) -> None:
    base = world.create(training_job_id="tiny-local", checkpoint=0, name="base")
    world.run(f"{base.id}-create-1")
    adapter = world.create(training_job_id="tr-lora", checkpoint=2, name="lora")
    world.run(f"{adapter.id}-create-1")
    # SageMaker keeps no copy count on an adapter component itself
    own = world.hosting.component(world.names.component(adapter.id))
    assert own is not None and own.current_copies == 0
    assert world.service.detail(PROJECT, adapter.id, OWNER)[1] == 1
    reader = counted(world)
    view = world.engine_service.detail(base.engine_id, OWNER)
    assert view.copies == {base.id: 1, adapter.id: 1}
    # the base component is described once although both deployments need it
    assert sorted(reader.described) == sorted(world.names.component(d) for d in (base.id, adapter.id))


def test_deactivated_deployments_report_zero_copies(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5)
    world.run(f"{made.id}-create-1")
    world.engine_service.deactivate(made.engine_id, OWNER)
    world.worker.handle(world.invokes.submitted[-1])
    world.hosting.resources()  # the copy count settles, as SageMaker's does after the update
    assert world.service.detail(PROJECT, made.id, OWNER)[1] == 0
    assert world.engine_service.detail(made.engine_id, OWNER).copies == {made.id: 0}


def test_an_unreadable_component_leaves_copies_unknown_and_the_read_answers(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5)
    world.run(f"{made.id}-create-1")
    world.service.copies = CopyCounts(UnreadableReader(), world.names)
    found, copies = world.service.detail(PROJECT, made.id, OWNER)
    assert found.status == "Deployed" and copies is None
    assert world.engine_service.detail(made.engine_id, OWNER).copies == {made.id: None}


def test_list_and_plain_reads_describe_nothing(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5)
    world.run(f"{made.id}-create-1")
    reader = counted(world)
    assert [d.id for d in world.service.list(PROJECT, OWNER)] == [made.id]
    assert [v.engine.id for v in world.engine_service.list(OWNER)] == [made.engine_id]
    assert world.engine_service.get(made.engine_id, OWNER).copies == {}
    assert reader.described == []
