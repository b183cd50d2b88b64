"""Training-job requests: every bad input answers 400 in the control-plane envelope, naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.training_support import SUMS, create_project, upload_dataset

pytestmark = pytest.mark.functional

CLASSES = [{"text": f"sample {i}", "label": "yes" if i % 2 else "no"} for i in range(6)]


@pytest.fixture(scope="module")
def setup(client: Any, admin_key: str) -> dict[str, str]:
    """A project with two uploaded datasets, one pending upload, and a finished job with checkpoint 4."""
    auth = {"Authorization": f"Bearer {admin_key}"}
    project_id = create_project(client, auth, "validation")
    pending = client.post(
        f"/v1/projects/{project_id}/datasets/uploads",
        json={"size": 10, "sha256": "0" * 64, "filename": "later.jsonl"},
        headers=auth,
    )
    assert pending.status_code == 201, pending.text
    from relay.backends import aws
    from relay.services.training.dynamodb import DynamoDBTrainingJobRepository
    from relay.services.training.models import Checkpoint, TrainingJob
    from relay.settings import get_settings

    # A finished job to continue from, as the pipeline leaves one (its own run is tested elsewhere).
    jobs = DynamoDBTrainingJobRepository(aws.client("dynamodb"), get_settings().table_name)
    finished = TrainingJob(
        id="tr-aaaaaaaaaaaaaaaa",
        project_id=project_id,
        name="first",
        status="Success",
        task_type="text-generation",
        base_model="tiny-local",
        created_at=1,
        updated_at=1,
    )
    jobs.create(finished)
    jobs.put_checkpoint(
        project_id, finished.id, Checkpoint(checkpoint=4, model_download_url="s3://b/k/", created_at=1)
    )
    return {
        "project": project_id,
        "train": upload_dataset(client, auth, project_id, SUMS),
        "classes": upload_dataset(client, auth, project_id, CLASSES, name="classes"),
        "pending": pending.json()["id"],
        "finished": finished.id,
    }


@pytest.fixture(scope="module")
def accepting(client: Any, admin_key: str) -> dict[str, str]:
    """A second project with a dataset, for the tests whose jobs are stored: `setup`'s project keeps
    only its finished job, whichever tests ran before the one that lists it."""
    auth = {"Authorization": f"Bearer {admin_key}"}
    project_id = create_project(client, auth, "accepting")
    return {"project": project_id, "train": upload_dataset(client, auth, project_id, SUMS)}


def _body(setup: dict[str, str], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"base_model": "tiny-local", "train_dataset_id": setup["train"]}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


SFT_CASES = [
    ("base_model", {"base_model": None}),
    ("base_model", {"base_model": "no-such-model"}),
    ("train_dataset_id", {"train_dataset_id": None}),
    ("train_dataset_id", {"train_dataset_id": "ds-0000000000000000"}),
    ("train_dataset_id", {"train_dataset_id": "{pending}"}),
    ("test_dataset_id", {"test_dataset_id": "{train}"}),
    ("test_dataset_id", {"test_dataset_id": "ds-0000000000000000"}),
    ("train_test_split_ratio", {"train_test_split_ratio": 0}),
    ("train_test_split_ratio", {"train_test_split_ratio": 100}),
    ("task_type", {"task_type": "translation"}),
    ("task_type", {"task_type": "embedding"}),
    ("parameters.learning_rate", {"parameters": {"learning_rate": 5}}),
    ("parameters.num_train_epochs", {"parameters": {"num_train_epochs": 1.5}}),
    ("parameters.num_generations", {"parameters": {"num_generations": 4}}),
    ("parameters.dynamic_loss", {"parameters": {"dynamic_loss": "yes"}}),
    ("test_functions", {"test_functions": ["not_a_function"]}),
    ("rebalance_data", {"rebalance_data": {"yes": 0.5}}),
    (
        "rebalance_data",
        {"task_type": "classification", "train_dataset_id": "{classes}", "rebalance_data": {"yes": -1}},
    ),
    ("hf_model_link", {"hf_model_link": "https://huggingface.co/me/model"}),
    ("checkpoint", {"base_model_option": "fine-tuned", "base_model": "{finished}"}),
    ("checkpoint", {"base_model_option": "fine-tuned", "base_model": "{finished}", "checkpoint": 7}),
    ("checkpoint", {"checkpoint": 4}),
    ("base_model", {"base_model_option": "fine-tuned", "base_model": "tr-0000000000000000", "checkpoint": 1}),
    ("base_model_option", {"base_model_option": "from-scratch"}),
    # The dataset's rows must fit the task: no GPU hour is spent to find that out.
    ("train_dataset_id", {"task_type": "classification"}),
    ("train_dataset_id", {"train_dataset_id": "{classes}"}),
    # Unknown fields are refused, not ignored.
    ("bogus", {"bogus": 1}),
]
GRPO_CASES = [
    ("reward", {"reward": None}),
    ("reward", {"reward": {"nope": 1}}),
    ("reward", {"reward": {"exact_match": -0.5}}),
    ("reward", {"reward": {"exact_match": 0}}),
    ("test_functions", {"test_functions": None}),
    ("test_functions", {"test_functions": []}),
    ("GRPO", {"task_type": "classification"}),
    ("parameters.downsample_size", {"parameters": {"downsample_size": 3}}),
    ("parameters.num_generations", {"parameters": {"num_generations": 1}}),
    # The trainer's group rule: num_generations divides the batch (4 on tiny-local for GRPO).
    ("parameters.num_generations", {"parameters": {"num_generations": 3}}),
    ("parameters.num_generations", {"parameters": {"num_generations": 4, "per_device_train_batch_size": 2}}),
]


def _fill(setup: dict[str, str], changes: dict[str, Any]) -> dict[str, Any]:
    return {k: v.format(**setup) if isinstance(v, str) else v for k, v in changes.items()}


@pytest.mark.parametrize(
    ("field", "changes"), SFT_CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(SFT_CASES)]
)
def test_bad_sft_request_names_the_field(
    client: Any, auth: dict[str, str], setup: dict[str, str], field: str, changes: dict[str, Any]
) -> None:
    response = client.post(
        f"/v1/projects/{setup['project']}/training-jobs",
        json=_body(setup, **_fill(setup, changes)),
        headers=auth,
    )
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["status"] == 400 and field in error["error"], error


@pytest.mark.parametrize(
    ("field", "changes"), GRPO_CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(GRPO_CASES)]
)
def test_bad_grpo_request_names_the_field(
    client: Any, auth: dict[str, str], setup: dict[str, str], field: str, changes: dict[str, Any]
) -> None:
    body = _body(setup, **{"test_functions": ["exact_match"], "reward": {"exact_match": 1.0}, **changes})
    response = client.post(f"/v1/projects/{setup['project']}/training-jobs/grpo", json=body, headers=auth)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"], response.json()


def test_nothing_is_stored_for_rejected_requests_and_unknown_projects_are_404(
    client: Any, auth: dict[str, str], setup: dict[str, str]
) -> None:
    listed = client.get(f"/v1/projects/{setup['project']}/training-jobs", headers=auth).json()
    assert [job["id"] for job in listed] == [setup["finished"]]
    missing = client.post("/v1/projects/ms-0000000000000000/training-jobs", json=_body(setup), headers=auth)
    assert missing.status_code == 404 and missing.json()["code"] == "object_not_found"
    assert client.get("/v1/projects/ms-0000000000000000/training-jobs", headers=auth).status_code == 404
    assert (
        client.get(
            f"/v1/projects/{setup['project']}/training-jobs/tr-0000000000000000", headers=auth
        ).status_code
        == 404
    )
    assert client.post(f"/v1/projects/{setup['project']}/training-jobs", json=_body(setup)).status_code == 401


def test_a_running_job_cannot_be_deleted(
    client: Any, auth: dict[str, str], accepting: dict[str, str]
) -> None:
    # A job whose pipeline fails fast keeps this test quick; it is Pending for a moment first.
    from relay.backends import aws
    from relay.services.training.dynamodb import DynamoDBTrainingJobRepository
    from relay.services.training.models import TrainingJob
    from relay.settings import get_settings

    jobs = DynamoDBTrainingJobRepository(aws.client("dynamodb"), get_settings().table_name)
    jobs.create(
        TrainingJob(
            id="tr-bbbbbbbbbbbbbbbb",
            project_id=accepting["project"],
            name="b",
            status="Running",
            created_at=2,
            updated_at=2,
        )
    )
    response = client.delete(
        f"/v1/projects/{accepting['project']}/training-jobs/tr-bbbbbbbbbbbbbbbb", headers=auth
    )
    assert response.status_code == 409 and "cancel it" in response.json()["error"]


def test_grpo_with_its_defaults_is_accepted_with_a_valid_group(
    client: Any, auth: dict[str, str], accepting: dict[str, str]
) -> None:
    project = accepting["project"]
    body = _body(accepting, test_functions=["exact_match"], reward={"exact_match": 1.0}, name="grpo-defaults")
    response = client.post(f"/v1/projects/{project}/training-jobs/grpo", json=body, headers=auth)
    assert response.status_code == 201, response.text
    job = response.json()["id"]
    detail = client.get(f"/v1/projects/{project}/training-jobs/{job}", headers=auth).json()
    hyper = detail["hyper_parameters"]
    assert hyper["num_generations"] >= 2
    assert hyper["per_device_train_batch_size"] % hyper["num_generations"] == 0
    client.post(f"/v1/projects/{project}/training-jobs/{job}/cancel", headers=auth)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        (
            {"parameters": {"learning_rate": 5, "lora_rank": 0, "bogus": 1}},
            ("parameters.bogus", "parameters.learning_rate", "parameters.lora_rank"),
        ),
        (
            {"train_test_split_ratio": "ten", "rebalance_data": [1], "base_model_option": "x"},
            ("train_test_split_ratio", "rebalance_data", "base_model_option"),
        ),
    ],
    ids=["parameters", "shape"],
)
def test_every_problem_is_listed_with_its_field(
    client: Any, auth: dict[str, str], setup: dict[str, str], fields: dict[str, Any], named: tuple[str, ...]
) -> None:
    response = client.post(
        f"/v1/projects/{setup['project']}/training-jobs", json=_body(setup, **fields), headers=auth
    )
    assert response.status_code == 400, response.text
    message = response.json()["error"]
    for field in named:
        assert field in message, message
    assert "more problem" not in message
