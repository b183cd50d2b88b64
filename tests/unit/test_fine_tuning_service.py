"""FineTuningService over the in-memory fakes: an OpenAI job is a Relay training job.

Files, datasets, projects and training jobs are the real services on their in-memory
repositories; only Step Functions and SageMaker are recording fakes (as in the training tests).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from relay.errors import BadRequestError, ModelNotFoundError, NotFoundError
from relay.protocol.fine_tuning import CreateFineTuningJobRequest
from relay.services.deployments.models import Deployment
from relay.services.files.repository import InMemoryFileRepository
from relay.services.files.service import FileLimits, FileService
from relay.services.fine_tuning.files import TrainingFiles
from relay.services.fine_tuning.repository import InMemoryFineTuningRepository
from relay.services.fine_tuning.results import ResultFiles
from relay.services.fine_tuning.service import FineTuningService, default_project_id
from relay.services.fine_tuning.serving import FineTunedModels
from relay.services.keys.models import Principal
from relay.services.training import status as st
from relay.services.training.models import Checkpoint, LossPoint
from tests.unit.test_training_service import Stack

pytestmark = pytest.mark.unit

K1 = Principal(key_id="k1", is_admin=False)
K2 = Principal(key_id="k2", is_admin=False)
NOW = 1_700_000_000
CHATS = b"".join(
    json.dumps(
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
    ).encode()
    + b"\n"
    for i in range(6)
)


class NoPresigner:
    def presign_post(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used")

    describe = presign_get = presign_post


class Deployments:
    def __init__(self) -> None:
        self.items: list[Deployment] = []

    def list(self, project_id: str) -> list[Deployment]:
        return [d for d in self.items if d.project_id == project_id]


class World(Stack):
    def __init__(self) -> None:
        super().__init__()
        limits = FileLimits(
            inline_max_bytes=10_000, presigned_max_bytes=10_000, inline_download_bytes=10_000, url_ttl=60
        )
        self.files = FileService(
            InMemoryFileRepository(), self.objects, NoPresigner(), limits, clock=lambda: NOW
        )
        self.records = InMemoryFineTuningRepository()
        self.clock = float(NOW)
        self.service = FineTuningService(
            self.records,
            self.training,
            self.table,
            TrainingFiles(self.files, self.uploads, self.datasets, max_bytes=5_000),
            ResultFiles(self.files, self.objects),
            clock=lambda: self.clock,
        )
        self.deployments = Deployments()
        self.models = FineTunedModels(self.records, self.jobs, self.deployments)

    def upload(self, content: bytes = CHATS, purpose: str = "fine-tune", who: Principal = K1) -> str:
        return self.files.create(
            who.key_id, filename="t.jsonl", purpose=purpose, content=content, expires_after=None
        ).id

    def create(self, who: Principal = K1, **body: Any) -> Any:
        body.setdefault("model", "tiny-local")
        body.setdefault("training_file", self.upload(who=who))
        return self.service.create(who, CreateFineTuningJobRequest.model_validate(body))

    def succeed(self, job: Any, steps: tuple[int, ...] = (2, 4)) -> None:
        """Move the training job to Success as the pipeline does, with loss points and checkpoints."""
        project, tr = job.project_id, job.training_job_id
        self.jobs.transition(project, tr, st.RUNNING, NOW + 10)
        losses = [LossPoint(NOW + 10 + s, 2.0 / s, step=s) for s in range(1, max(steps) + 1)]
        self.jobs.record_progress(project, tr, NOW + 20, 99, losses)
        self.jobs.transition(project, tr, st.TESTING, NOW + 30)
        for s in steps:
            self.jobs.put_checkpoint(
                project,
                tr,
                Checkpoint(checkpoint=s, model_download_url=f"s3://b/{s}/", created_at=NOW + 20 + s),
            )
        self.jobs.transition(project, tr, st.SUCCESS, NOW + 40)


@pytest.fixture()
def world() -> World:
    return World()


def test_a_job_is_a_training_job_in_the_keys_default_project(world: World) -> None:
    job = world.create(suffix="acc", seed=7, metadata={"team": "a"})
    assert job.id.startswith("ftjob-") and job.status == "queued" and job.seed == 7
    assert job.project_id == default_project_id("k1") and job.organization_id == "k1"
    assert world.table.projects[job.project_id].owner == "k1"
    trained = world.jobs.get(job.project_id, job.training_job_id)
    assert trained is not None and trained.name == job.id and trained.status == "Pending"
    assert trained.hyper_parameters["seed"] == 7
    assert list(world.pipelines.started) == [job.training_job_id]
    # Defaults resolved from the catalogue: tiny-local's epochs and batch size, multiplier 1.
    assert job.hyperparameters.model_dump() == {
        "batch_size": trained.hyper_parameters["per_device_train_batch_size"],
        "learning_rate_multiplier": 1.0,
        "n_epochs": trained.hyper_parameters["num_train_epochs"],
    }
    assert job.fine_tuned_model is None and job.method is not None and job.method.type == "supervised"


def test_hyperparameters_map_onto_the_catalogue_template(world: World) -> None:
    job = world.create(
        method={
            "type": "supervised",
            "supervised": {
                "hyperparameters": {"n_epochs": 5, "batch_size": 4, "learning_rate_multiplier": 2}
            },
        }
    )
    trained = world.jobs.get(job.project_id, job.training_job_id)
    assert trained is not None
    assert (
        trained.hyper_parameters["num_train_epochs"],
        trained.hyper_parameters["per_device_train_batch_size"],
    ) == (5, 4)
    assert trained.hyper_parameters["learning_rate"] == pytest.approx(2 * 0.0002)
    assert job.hyperparameters.n_epochs == 5 and job.hyperparameters.learning_rate_multiplier == 2.0
    legacy = world.create(hyperparameters={"n_epochs": "auto", "batch_size": 1})
    assert legacy.hyperparameters.batch_size == 1


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "gpt-4o-mini"}, "model"),
        ({"method": {"type": "dpo"}}, "method.type"),
        (
            {
                "method": {
                    "type": "reinforcement",
                    "reinforcement": {"grader": {"type": "python", "source": "x"}},
                }
            },
            "method.reinforcement.grader.type",
        ),
        ({"hyperparameters": {"n_epochs": 500}}, "hyperparameters.n_epochs"),
        (
            {
                "method": {
                    "type": "supervised",
                    "supervised": {"hyperparameters": {"learning_rate_multiplier": 1000}},
                }
            },
            "method.supervised.hyperparameters.learning_rate_multiplier",
        ),
        ({"training_file": "file-000000000000000000000000"}, "training_file"),
        ({"validation_file": "file-000000000000000000000000"}, "validation_file"),
    ],
)
def test_what_cannot_be_honoured_is_a_400_naming_the_field_and_writes_nothing(
    world: World, body: dict[str, Any], param: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        world.create(**body)
    assert caught.value.param == param, caught.value.message
    assert world.records.list("k1") == [] and world.pipelines.started == {}


def test_a_file_of_another_purpose_or_another_key_is_refused(world: World) -> None:
    with pytest.raises(BadRequestError, match="purpose 'batch'"):
        world.create(training_file=world.upload(purpose="batch"))
    with pytest.raises(BadRequestError, match="no file"):
        world.create(training_file=world.upload(who=K2))


def test_an_invalid_training_file_makes_a_failed_job_with_line_errors(world: World) -> None:
    bad = CHATS + b'{"messages": [{"role": "robot", "content": "x"}]}\nnot json\n'
    job = world.create(training_file=world.upload(bad))
    assert job.status == "failed" and job.training_job_id is None and job.finished_at == NOW
    assert (
        job.error is not None
        and job.error.code == "invalid_training_file"
        and job.error.param == "training_file"
    )
    assert "line 7" in job.error.message and "line 8" in job.error.message
    assert world.pipelines.started == {}
    assert world.service.get(K1, job.id).status == "failed"
    messages = [e.message for e in world.service.events(K1, job.id, after=None, limit=20)[0]]
    assert messages[0] == job.error.message and messages[-1].startswith("Created fine-tuning job")


def test_prompt_completion_lines_are_not_chat_and_fail_the_job(world: World) -> None:
    rows = b"".join(json.dumps({"prompt": "p", "completion": "c"}).encode() + b"\n" for _ in range(3))
    job = world.create(training_file=world.upload(rows))
    assert job.status == "failed" and job.error is not None and "chat lines" in job.error.message
    assert world.table.datasets == {}  # the copied dataset is removed again


def test_status_follows_the_training_job_and_success_names_the_model(world: World) -> None:
    job = world.create(suffix="acc")
    world.succeed(job)
    done = world.service.get(K1, job.id)
    assert done.status == "succeeded" and done.finished_at == NOW + 40
    assert done.fine_tuned_model == f"ft:tiny-local:k1:acc:{job.id.removeprefix('ftjob-')}"
    (result,) = done.result_files
    record = world.files.get("k1", result)
    assert record.purpose == "fine-tune-results"
    body = b"".join(world.files.content("k1", result)).decode()
    assert body.splitlines()[0] == "step,timestamp,train_loss" and body.splitlines()[1].startswith("1,")
    assert world.service.get(K1, job.id).result_files == [result]  # written once


def test_events_carry_metrics_newest_first_and_page_with_after(world: World) -> None:
    job = world.create()
    world.succeed(job)
    events, more = world.service.events(K1, job.id, after=None, limit=100)
    assert not more and events[-1].message.startswith("Created fine-tuning job")
    metrics = [e for e in events if e.type == "metrics"]
    assert [e.data["step"] for e in reversed(metrics)] == [1, 2, 3, 4]
    losses = [e.data["train_loss"] for e in reversed(metrics)]
    assert losses == sorted(losses, reverse=True)
    assert any("New fine-tuned model created: ft:tiny-local:k1::" in e.message for e in events)
    first, more = world.service.events(K1, job.id, after=None, limit=3)
    rest, _ = world.service.events(K1, job.id, after=first[-1].id, limit=100)
    assert more and [e.id for e in first + rest] == [e.id for e in events]


def test_checkpoints_are_the_training_jobs_with_ckpt_ids(world: World) -> None:
    job = world.create(suffix="acc")
    assert world.service.checkpoints(K1, job.id, after=None, limit=10) == ([], False)
    world.succeed(job)
    found, _ = world.service.checkpoints(K1, job.id, after=None, limit=10)
    assert [c.step_number for c in found] == [4, 2]
    model = world.service.get(K1, job.id).fine_tuned_model
    assert found[0].fine_tuned_model_checkpoint == f"{model}:ckpt-step-4"
    assert found[1].metrics.train_loss == pytest.approx(1.0)  # the loss logged at step 2


def test_cancel_cancels_the_training_job_and_either_face_agrees(world: World) -> None:
    job = world.create()
    cancelled = world.service.cancel(K1, job.id)
    assert cancelled.status == "cancelled"
    trained = world.jobs.get(job.project_id, job.training_job_id)
    assert trained is not None and trained.status == "Cancelled"
    assert world.sagemaker.stopped == [job.training_job_id]
    with pytest.raises(BadRequestError, match="cancelled"):
        world.service.cancel(K1, job.id)
    other = world.create()
    world.training.cancel(other.project_id, other.training_job_id, K1)  # through the control plane
    assert world.service.get(K1, other.id).status == "cancelled"


def test_a_failed_training_job_is_a_failed_job_with_its_reason(world: World) -> None:
    job = world.create()
    world.jobs.transition(
        job.project_id, job.training_job_id, st.FAILED, NOW + 5, reason="CUDA out of memory"
    )
    failed = world.service.get(K1, job.id)
    assert failed.status == "failed" and failed.error is not None
    assert (failed.error.code, failed.error.message) == ("training_failed", "CUDA out of memory")


def test_list_pages_newest_first_filters_metadata_and_hides_other_keys(world: World) -> None:
    ids = []
    for i in range(3):
        world.clock = NOW + i
        ids.append(world.create(metadata={"n": str(i % 2)}).id)
    world.create(who=K2)
    listed, more = world.service.list(K1, after=None, limit=2, metadata={})
    assert [j.id for j in listed] == ids[::-1][:2] and more
    rest, more = world.service.list(K1, after=listed[-1].id, limit=2, metadata={})
    assert [j.id for j in rest] == [ids[0]] and not more
    even, _ = world.service.list(K1, after=None, limit=10, metadata={"n": "0"})
    assert [j.id for j in even] == [ids[2], ids[0]]
    with pytest.raises(NotFoundError):
        world.service.get(K2, ids[0])


def test_continuing_from_an_ft_model_trains_from_its_last_checkpoint(world: World) -> None:
    first = world.create()
    with pytest.raises(BadRequestError, match="not a succeeded"):
        world.create(model=f"ft:tiny-local:k1::{first.id.removeprefix('ftjob-')}")
    world.succeed(first)
    model = world.service.get(K1, first.id).fine_tuned_model
    second = world.create(model=model)
    trained = world.jobs.get(second.project_id, second.training_job_id)
    assert trained is not None and trained.base_model_option == "fine-tuned"
    assert (trained.base_fine_tuned_model, trained.base_fine_tuned_model_checkpoint) == (
        first.training_job_id,
        4,
    )
    assert second.model == model


def test_ft_ids_resolve_to_the_deployment_of_their_checkpoint(world: World) -> None:
    job = world.create(suffix="acc")
    world.succeed(job)
    model = world.service.get(K1, job.id).fine_tuned_model
    assert model is not None
    with pytest.raises(
        ModelNotFoundError, match=f"relay deploy {job.project_id} {job.training_job_id} --checkpoint 4"
    ):
        world.models.deployment_name(model)
    deployed = Deployment(
        id="dp-1",
        project_id=job.project_id,
        name="served",
        engine_id="engine-1",
        status="Deployed",
        base_model="tiny-local",
        task_type="text-generation",
        checkpoint=4,
        created_at=NOW,
        updated_at=NOW,
        inactive_timeout=3600,
        training_id=job.training_job_id,
    )
    world.deployments.items.append(deployed)
    assert world.models.deployment_name(model) == "served"
    with pytest.raises(ModelNotFoundError, match="--checkpoint 2"):
        world.models.deployment_name(f"{model}:ckpt-step-2")
    world.deployments.items.append(replace(deployed, id="dp-2", name="early", checkpoint=2))
    assert world.models.deployment_name(f"{model}:ckpt-step-2") == "early"
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        world.models.deployment_name(f"{model}:ckpt-step-3")
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        world.models.deployment_name("ft:tiny-local:k1:acc:0000000000000000")


def test_pause_and_resume_are_refused_for_a_job_and_404_for_none(world: World) -> None:
    job = world.create()
    with pytest.raises(BadRequestError, match="cannot be paused"):
        world.service.refuse(K1, job.id, "pause")
    with pytest.raises(NotFoundError):
        world.service.refuse(K1, "ftjob-0000000000000000", "resume")
