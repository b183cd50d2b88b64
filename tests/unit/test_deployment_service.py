"""Deployments and engines end to end on the in-memory fakes: API operations, the worker's steps,
clean-up after every path, the scaler and schedules."""

from __future__ import annotations

from typing import Any

import pytest

from relay.backends.worker import InMemoryWorker
from relay.errors import BadRequestError, ConflictError, NotFoundError, RelayError
from relay.protocol.deployments import CreateDeploymentRequest, CreateEngineRequest, DeployOnEngineRequest
from relay.services.deployments.copies import CopyCounts
from relay.services.deployments.engines import EngineService
from relay.services.deployments.fakes import (
    InMemoryCheckpoints,
    InMemoryHosting,
    InMemoryMetrics,
    InMemoryRegistryWriter,
    RecordingExecutions,
)
from relay.services.deployments.lifecycle import Lifecycle
from relay.services.deployments.models import (
    CheckpointFacts,
    SageMakerNames,
    TrainedCheckpoint,
    TrainingJobView,
)
from relay.services.deployments.repository import InMemoryDeploymentRepository, InMemoryEngineRepository
from relay.services.deployments.resources import HostingConfig, Resources
from relay.services.deployments.scaling import Scaler
from relay.services.deployments.schedules import ScheduleSync
from relay.services.deployments.service import DeploymentService
from relay.services.deployments.sources import SourceResolver
from relay.services.deployments.worker import DeploymentWorker
from relay.services.keys.models import ADMIN, Principal
from relay.services.projects.models import Project
from tests.clock import Clock

pytestmark = pytest.mark.unit

PROJECT = "ms-0123456789abcdef"
OWNER = Principal(key_id="k-owner", is_admin=False)
OTHER = Principal(key_id="k-other", is_admin=False)
EMPTY = {"models": [], "endpoint_configs": [], "endpoints": [], "components": []}


class SchedulePort:
    def __init__(self) -> None:
        self.schedules: dict[str, dict[str, Any]] = {}

    def put(self, name: str, **kwargs: Any) -> None:
        self.schedules[name] = kwargs

    def delete(self, name: str) -> bool:
        return self.schedules.pop(name, None) is not None


class World:
    def __init__(self) -> None:
        self.clock = Clock(1_000_000.0)
        self.names = SageMakerNames("relay-test")
        self.deployments = InMemoryDeploymentRepository({PROJECT})
        self.engines = InMemoryEngineRepository()
        self.checkpoints = InMemoryCheckpoints()
        self.registry = InMemoryRegistryWriter(taken=["admin-model"])
        self.executions = RecordingExecutions()
        self.schedule_port = SchedulePort()
        self.hosting = InMemoryHosting()
        self.metrics = InMemoryMetrics()
        self.invokes = InMemoryWorker()
        lifecycle = Lifecycle(self.deployments, self.registry, self.executions, self.clock)
        self.service = DeploymentService(
            deployments=self.deployments,
            engines=self.engines,
            projects=type(
                "Projects",
                (),
                {
                    "get": staticmethod(
                        lambda p: Project(p, "p", 1, 1, owner=OWNER.key_id) if p == PROJECT else None
                    )
                },
            )(),
            sources=SourceResolver(self.checkpoints, "bucket"),
            lifecycle=lifecycle,
            schedules=ScheduleSync(
                self.schedule_port, self.names, "arn:aws:lambda:r:1:function:d", "arn:role"
            ),
            names=self.names,
            copies=CopyCounts(self.hosting, self.names),
        )
        self.engine_service = EngineService(self.service, self.invokes)
        resources = Resources(
            self.hosting,
            self.deployments,
            self.engines,
            self.names,
            HostingConfig("arn:sm-role", "us-east-1", "bucket"),
        )
        scaler = Scaler(lifecycle, self.engines, resources, self.metrics, self.names, self.clock)
        self.worker = DeploymentWorker(
            lifecycle=lifecycle, resources=resources, scaler=scaler, poll_seconds=1
        )
        # Finished jobs with one checkpoint each: merged chat, a LoRA adapter, a classifier.
        for job_id, task, number, url, facts in (
            ("tr-chat", "text-generation", 5, "s3://bucket/c5/", CheckpointFacts(adapter=False)),
            ("tr-lora", "text-generation", 2, "s3://bucket/l2/", CheckpointFacts(adapter=True)),
            (
                "tr-cls",
                "classification",
                4,
                "s3://bucket/k4/",
                CheckpointFacts(adapter=False, labels=("neg", "pos")),
            ),
        ):
            job = TrainingJobView(job_id, "Success", "tiny-local", task, (TrainedCheckpoint(number, url),))
            self.checkpoints.add(PROJECT, job, {number: facts})
        self.checkpoints.add(PROJECT, TrainingJobView("tr-busy", "Running", "tiny-local", "text-generation"))

    def create(self, **body: Any) -> Any:
        return self.service.create(PROJECT, CreateDeploymentRequest.model_validate(body), OWNER)

    def run(self, name: str, limit: int = 20) -> dict[str, Any]:
        """Drive one execution as the state machine does: the action step, then polls until done."""
        payload = self.executions.started[name]
        try:
            result = self.worker.handle({"step": payload["action"], **payload})
            for _ in range(limit):
                if result["done"]:
                    return result
                result = self.worker.handle({"step": "poll", **payload})
        except RelayError as exc:  # the state machine's Catch -> fail step
            error = {"Error": type(exc).__name__, "Cause": exc.message}
            return self.worker.handle({"step": "fail", "error": error, **payload})
        return self.worker.handle({"step": "timeout", **payload})

    def status(self, deployment_id: str) -> str:
        found = self.deployments.get(PROJECT, deployment_id)
        assert found is not None
        return found.status


@pytest.fixture()
def world() -> World:
    return World()


def test_create_deploys_and_delete_removes_everything(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5, name="my-bot")
    assert made.status == "Pending" and world.registry.entries["my-bot"].status == "Pending"
    entry = world.registry.entries["my-bot"]
    assert entry.flavour == "openai" and entry.type == "chat" and entry.deployment_id == made.id
    assert world.run(f"{made.id}-create-1") == {"done": True, "wait_seconds": 1, "status": "Deployed"}
    assert world.registry.entries["my-bot"].status == "Deployed"
    model = world.hosting.models[world.names.model(made.id)]
    assert model["data"] == "s3://bucket/c5/" and "djl-inference" in model["image"]
    assert model["env"]["RELAY_TASK_TYPE"] == "text-generation" and model["role"] == "arn:sm-role"
    engine = world.engine_service.get(made.engine_id, OWNER)
    assert engine.status == "Active" and [d.id for d in engine.deployments] == [made.id]
    world.service.delete(PROJECT, made.id, OWNER)
    assert world.status(made.id) == "Terminated" and "my-bot" not in world.registry.entries
    world.run(f"{made.id}-delete-1")
    assert world.hosting.resources() == EMPTY
    assert world.engine_service.get(made.engine_id, OWNER).status == "Inactive"


def test_a_second_deployment_shares_the_engine(world: World) -> None:
    first = world.create(training_job_id="tr-chat", checkpoint=5)
    second = world.create(training_job_id="tiny-local", checkpoint=0)
    assert (
        first.engine_id == second.engine_id and second.model_data_url == "s3://bucket/base-models/tiny-local/"
    )
    assert first.name == first.id
    world.run(f"{first.id}-create-1")
    world.run(f"{second.id}-create-1")
    world.service.delete(PROJECT, first.id, OWNER)
    world.run(f"{first.id}-delete-1")
    # the endpoint stays for the deployment still on it
    assert world.hosting.resources()["endpoints"] == [world.names.endpoint(first.engine_id)]


@pytest.mark.parametrize(
    ("body", "error", "param"),
    [
        ({"training_job_id": "tr-nope", "checkpoint": 1}, NotFoundError, "training_job_id"),
        ({"training_job_id": "no-such-model", "checkpoint": 0}, NotFoundError, "training_job_id"),
        ({"training_job_id": "tr-busy", "checkpoint": 1}, BadRequestError, "training_job_id"),
        ({"training_job_id": "tr-chat", "checkpoint": 6}, BadRequestError, "checkpoint"),
        ({"training_job_id": "tr-cls", "checkpoint": 0}, BadRequestError, "checkpoint"),
        ({"training_job_id": "tr-chat", "checkpoint": 5, "name": "admin-model"}, ConflictError, None),
        ({"training_job_id": "tr-chat", "checkpoint": 5, "name": "tiny-local"}, ConflictError, None),
        (
            {
                "training_job_id": "tr-chat",
                "checkpoint": 5,
                "schedule": {
                    "timezone": "Nowhere/City",
                    "start_time": "09:00",
                    "end_time": "17:00",
                    "days": ["monday"],
                },
            },
            BadRequestError,
            "schedule.timezone",
        ),
        (
            {
                "training_job_id": "tr-chat",
                "checkpoint": 5,
                "schedule": {"timezone": "UTC", "start_time": "9am", "end_time": "17:00", "days": ["monday"]},
            },
            BadRequestError,
            "schedule.start_time",
        ),
    ],
)
def test_bad_requests_create_nothing(
    world: World, body: dict[str, Any], error: type, param: str | None
) -> None:
    with pytest.raises(error) as caught:
        world.create(**body)
    assert caught.value.param == param
    assert world.deployments.items == {} and world.engines.items == {} and world.executions.started == {}
    assert world.registry.entries == {} and world.schedule_port.schedules == {}


def test_duplicate_names_are_409_and_undo_the_new_engine(world: World) -> None:
    world.create(training_job_id="tr-chat", checkpoint=5, name="taken")
    engines_before = dict(world.engines.items)
    with pytest.raises(ConflictError):
        world.create(training_job_id="tr-cls", checkpoint=4, name="taken")
    assert world.engines.items == engines_before and len(world.deployments.items) == 1


def test_a_failed_start_leaves_nothing_behind(world: World) -> None:
    world.executions.fail = True
    with pytest.raises(ConflictError):
        world.create(
            training_job_id="tr-chat",
            checkpoint=5,
            name="x",
            schedule={"timezone": "UTC", "start_time": "09:00", "end_time": "17:00", "days": ["monday"]},
        )
    assert world.deployments.items == {} and world.engines.items == {} and world.registry.entries == {}
    assert world.schedule_port.schedules == {}


def test_a_failed_component_is_failed_with_its_reason_and_cleaned_up(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5)
    world.hosting.fail_components[world.names.component(made.id)] = "CUDA out of memory"
    assert world.run(f"{made.id}-create-1")["status"] == "Failed"
    failed = world.deployments.get(PROJECT, made.id)
    assert failed is not None and failed.failure_reason == "CUDA out of memory"
    # the component takes a while to delete: a delete execution finishes the clean-up
    assert world.run(f"{made.id}-delete-1") == {"done": True, "wait_seconds": 1, "status": "Failed"}
    assert world.hosting.resources() == EMPTY and made.name not in world.registry.entries
    world.run(f"{made.id}-create-1")  # a retried execution changes nothing
    assert world.hosting.resources() == EMPTY


def test_quota_refusal_fails_naming_the_quota_and_removes_the_model(world: World) -> None:
    world.hosting.quota_exceeded = True
    made = world.create(training_job_id="tr-chat", checkpoint=5)
    assert world.run(f"{made.id}-create-1")["status"] == "Failed"
    failed = world.deployments.get(PROJECT, made.id)
    assert failed is not None and "ml.m5.xlarge for endpoint usage" in str(failed.failure_reason)
    assert world.hosting.resources() == EMPTY


def test_timeout_ends_timed_out_and_cleans_up(world: World) -> None:
    world.hosting.settle = 100
    made = world.create(training_job_id="tr-chat", checkpoint=5)
    assert world.run(f"{made.id}-create-1", limit=3)["status"] == "TimedOut"
    # the endpoint never came up: nothing was on it, so it is being deleted with its config
    assert world.hosting.models == {} and world.hosting.components == {} and world.hosting.configs == {}
    assert [e.status for e in world.hosting.endpoints.values()] == ["Deleting"]
    assert f"{made.id}-delete-1" not in world.executions.started


def test_delete_while_deploying_cancels_and_the_create_execution_cleans_up(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5)
    payload = world.executions.started[f"{made.id}-create-1"]
    world.worker.handle({"step": "create", **payload})
    world.service.delete(PROJECT, made.id, OWNER)
    assert world.status(made.id) == "Cancelled"
    world.run(f"{made.id}-delete-1")
    for _ in range(3):
        world.worker.handle({"step": "poll", **payload})
    assert world.hosting.resources() == EMPTY


def test_idle_deployments_scale_to_zero_and_reactivate_once(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5, inactive_timeout=600)
    world.run(f"{made.id}-create-1")
    component = world.names.component(made.id)
    world.metrics.points[component] = [(int(world.clock.now) + 100, 2.0)]
    world.clock.now += 500
    assert world.worker.handle({"action": "scale"}) == {"deactivated": []}
    assert world.engines.items[made.engine_id].last_access_timestamp == int(world.clock.now) - 500 + 160
    world.clock.now += 300
    assert world.worker.handle({"action": "scale"}) == {"deactivated": [made.id]}
    assert (
        world.status(made.id) == "Deactivated" and world.registry.entries[made.name].status == "Deactivated"
    )
    state = world.hosting.component(component)
    assert state is not None and state.desired_copies == 0
    event = {"action": "reactivate", "deployment_id": made.id, "project_id": PROJECT}
    assert world.worker.handle(event) == {"started": True}
    assert world.worker.handle(event) == {"started": False}
    assert world.status(made.id) == "Reactivating"
    with pytest.raises(BadRequestError, match="already Reactivating"):
        world.service.reactivate(PROJECT, made.id, OWNER)
    assert world.run(f"{made.id}-reactivate-1")["status"] == "Deployed"
    state = world.hosting.component(component)
    assert state is not None and state.current_copies == 1
    with pytest.raises(BadRequestError, match="already Deployed"):
        world.service.reactivate(PROJECT, made.id, OWNER)


def test_schedules_start_and_stop_a_deployment(world: World) -> None:
    made = world.create(
        training_job_id="tr-chat",
        checkpoint=5,
        schedule={"timezone": "Asia/Tokyo", "start_time": "08:00", "end_time": "20:00", "days": ["monday"]},
    )
    start = world.schedule_port.schedules[f"relay-test-{made.id}-start"]
    assert start["expression"] == "cron(0 8 ? * MON *)" and start["timezone"] == "Asia/Tokyo"
    assert start["payload"] == {
        "action": "schedule",
        "target": "deployment",
        "id": made.id,
        "state": "start",
        "project_id": PROJECT,
    }
    world.run(f"{made.id}-create-1")
    stop = world.schedule_port.schedules[f"relay-test-{made.id}-stop"]["payload"]
    assert world.worker.handle(stop) == {"changed": [made.id]}
    assert world.status(made.id) == "Deactivated"
    world.worker.handle(start["payload"])
    assert world.run(f"{made.id}-reactivate-1")["status"] == "Deployed"
    world.service.delete(PROJECT, made.id, OWNER)
    assert world.schedule_port.schedules == {}


def test_adapters_sit_on_the_base_component(world: World) -> None:
    base = world.create(training_job_id="tiny-local", checkpoint=0, name="base")
    world.run(f"{base.id}-create-1")
    adapter = world.create(training_job_id="tr-lora", checkpoint=2, name="lora")
    assert adapter.base_component == world.names.component(base.id)
    assert world.run(f"{adapter.id}-create-1")["status"] == "Deployed"
    spec = world.hosting.components[world.names.component(adapter.id)].detail["spec"]
    assert spec.base_component == world.names.component(base.id) and spec.artifact_url == "s3://bucket/l2/"
    assert world.names.model(adapter.id) not in world.hosting.models
    with pytest.raises(ConflictError, match="lora"):
        world.service.delete(PROJECT, base.id, OWNER)
    # the base scaled to zero takes its adapters down; calling an adapter brings both back
    world.clock.now += 4000
    assert base.id in world.worker.handle({"action": "scale"})["deactivated"]
    assert world.status(adapter.id) == "Deactivated"
    world.worker.handle({"action": "reactivate", "deployment_id": adapter.id, "project_id": PROJECT})
    payload = world.executions.started[f"{adapter.id}-reactivate-1"]
    assert world.worker.handle({"step": "reactivate", **payload})["done"] is False
    assert world.status(base.id) == "Reactivating"  # woken by its adapter
    assert world.run(f"{base.id}-reactivate-1")["status"] == "Deployed"
    assert world.worker.handle({"step": "poll", **payload})["status"] == "Deployed"
    # without a base on the engine an adapter is served merged onto the staged base weights
    other = World()
    alone = other.create(training_job_id="tr-lora", checkpoint=2)
    other.run(f"{alone.id}-create-1")
    env = other.hosting.models[other.names.model(alone.id)]["env"]
    assert env["RELAY_BASE_MODEL_URL"] == "s3://bucket/base-models/tiny-local/"


def test_engine_operations(world: World) -> None:
    view = world.engine_service.create(
        CreateEngineRequest.model_validate(
            {
                "name": "cls",
                "base_model": "tiny-local",
                "task_type": "classification",
                "resource_management_config": {
                    "management_type": "inactive_timeout",
                    "management_config": {"inactive_duration": 1200},
                },
            }
        ),
        OWNER,
    )
    engine_id = view.engine.id
    assert view.status == "Inactive" and view.engine.inactive_timeout == 1200
    assert world.hosting.resources() == EMPTY  # no endpoint until something is deployed
    with pytest.raises(BadRequestError, match="only an Active engine"):
        world.engine_service.deactivate(engine_id, OWNER)
    with pytest.raises(BadRequestError, match="serves tiny-local for classification"):
        world.service.deploy_on_engine(
            engine_id, DeployOnEngineRequest(project_id=PROJECT, training_id="tr-chat", checkpoint=5), OWNER
        )
    made = world.service.deploy_on_engine(
        engine_id,
        DeployOnEngineRequest(project_id=PROJECT, training_id="tr-cls", checkpoint=4, name="clf"),
        OWNER,
    )
    assert made.inactive_timeout == 1200 and world.registry.entries["clf"].labels == ("neg", "pos")
    world.run(f"{made.id}-create-1")
    assert [e.engine.id for e in world.engine_service.list(OWNER, task_type="classification")] == [engine_id]
    assert world.engine_service.list(OWNER, base_model_name="Llama-3.2-1B-Instruct") == []
    world.engine_service.deactivate(engine_id, OWNER)
    assert world.status(made.id) == "Deactivated"
    world.worker.handle(world.invokes.submitted[-1])
    state = world.hosting.component(world.names.component(made.id))
    assert state is not None and state.desired_copies == 0
    world.engine_service.reactivate(engine_id, OWNER)
    with pytest.raises(BadRequestError):
        world.engine_service.reactivate(engine_id, OWNER)
    world.run(f"{made.id}-reactivate-1")
    with pytest.raises(ConflictError, match="clf"):
        world.engine_service.delete(engine_id, OWNER)
    with pytest.raises(NotFoundError):
        world.engine_service.undeploy(engine_id, "nope", OWNER)
    world.engine_service.undeploy(engine_id, "clf", OWNER)
    assert world.status(made.id) == "Terminated"
    world.run(f"{made.id}-delete-1")
    world.engine_service.delete(engine_id, OWNER)
    with pytest.raises(NotFoundError):
        world.engine_service.get(engine_id, OWNER)
    world.worker.handle(world.invokes.submitted[-1])
    world.hosting.endpoint_status(world.names.endpoint(engine_id))
    assert world.hosting.resources() == EMPTY and world.engines.items == {}


def weekend_schedule(end_time: str) -> CreateEngineRequest:
    """An engine on tiny-local running Saturdays from 07:00 UTC until `end_time`."""
    return CreateEngineRequest.model_validate(
        {
            "base_model": "tiny-local",
            "resource_management_config": {
                "management_type": "schedule",
                "management_config": {
                    "timezone": "UTC",
                    "start_time": "07:00",
                    "end_time": end_time,
                    "days": ["saturday"],
                },
            },
        }
    )


def test_scheduled_engines_get_their_schedules(world: World) -> None:
    view = world.engine_service.create(weekend_schedule("19:00"), OWNER)
    assert view.engine.task_type == "text-generation" and view.engine.management_type == "schedule"
    stop = world.schedule_port.schedules[f"relay-test-{view.engine.id}-stop"]
    assert stop["payload"]["target"] == "engine" and stop["expression"] == "cron(0 19 ? * SAT *)"
    with pytest.raises(BadRequestError) as caught:
        world.engine_service.create(weekend_schedule("25:00"), OWNER)
    assert caught.value.param == "resource_management_config.management_config.end_time"
    with pytest.raises(
        BadRequestError, match="serves text-generation, classification, regression, not embedding"
    ):
        world.engine_service.create(
            CreateEngineRequest(base_model="tiny-local", task_type="embedding"), OWNER
        )
    with pytest.raises(BadRequestError) as unknown:
        world.engine_service.create(CreateEngineRequest(base_model="gpt-9"), OWNER)
    assert unknown.value.param == "base_model"


def test_engine_teardown_waits_for_its_components(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5)
    world.run(f"{made.id}-create-1")
    world.service.delete(PROJECT, made.id, OWNER)
    world.hosting.settle = 3  # the component is still deleting when the engine goes
    world.engine_service.delete(made.engine_id, OWNER)
    assert world.worker.handle(world.invokes.submitted[-1]) == {"deleted": False}
    assert world.hosting.endpoints and made.engine_id in world.engines.items
    for _ in range(6):
        world.worker.handle({"action": "scale"})
    assert made.engine_id not in world.engines.items
    assert world.hosting.resources() == EMPTY


def test_the_scaler_removes_what_a_failed_delete_left(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5)
    world.run(f"{made.id}-create-1")
    world.service.delete(PROJECT, made.id, OWNER)  # its delete execution never runs
    assert world.hosting.components
    for _ in range(4):
        world.worker.handle({"action": "scale"})
    assert world.hosting.resources() == EMPTY


def test_other_keys_see_no_deployments_or_engines_of_this_project(world: World) -> None:
    made = world.create(training_job_id="tr-chat", checkpoint=5, name="mine")
    for call in (
        lambda: world.service.list(PROJECT, OTHER),
        lambda: world.service.get(PROJECT, made.id, OTHER),
        lambda: world.service.delete(PROJECT, made.id, OTHER),
        lambda: world.service.create(
            PROJECT, CreateDeploymentRequest(training_job_id="tr-chat", checkpoint=5), OTHER
        ),
        lambda: world.engine_service.get(made.engine_id, OTHER),
        lambda: world.engine_service.deactivate(made.engine_id, OTHER),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert world.engine_service.list(OTHER) == []
    assert [v.engine.id for v in world.engine_service.list(ADMIN)] == [made.engine_id]
    assert world.service.get(PROJECT, made.id, ADMIN).name == "mine"
    # another key's engine is never picked for a new deployment
    assert world.engines.items[made.engine_id].owner == OWNER.key_id
