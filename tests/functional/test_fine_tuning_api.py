"""The fine-tuning routes in-process on the local stack (moto), and the record port on DynamoDB.

Only requests that never start a training job run here (the training itself is the e2e test's):
OpenAI's error envelope with the field named, a refused file as a failed job with its events,
`ft:` ids on the inference routes, and the DynamoDB adapter agreeing with the in-memory fake.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from relay.errors import ConflictError, NotFoundError
from relay.services.fine_tuning.dynamodb import DynamoDBFineTuningRepository
from relay.services.fine_tuning.models import FineTuningRecord, JobError, new_job_id
from relay.services.fine_tuning.repository import FineTuningRepository, InMemoryFineTuningRepository

pytestmark = pytest.mark.functional

JOBS = "/v1/fine_tuning/jobs"
CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def _upload(client: Any, auth: dict[str, str], content: bytes, purpose: str = "fine-tune") -> str:
    response = client.post(
        "/v1/files",
        files={"file": ("train.jsonl", io.BytesIO(content))},
        data={"purpose": purpose},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def bad_job(client: Any, admin_key: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {admin_key}"}
    content = (json.dumps(CHAT) + "\n" + '{"messages": "nope"}\n').encode()
    response = client.post(
        JOBS,
        json={
            "model": "tiny-local",
            "training_file": _upload(client, auth, content),
            "metadata": {"t": "bad"},
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"suffix": "has:colon"}, "suffix"),
        ({"suffix": "x" * 65}, "suffix"),
        ({"integrations": [{"type": "wandb", "wandb": {"project": "p"}}]}, "integrations"),
        ({"seed": -1}, "seed"),
        ({"hyperparameters": {"n_epochs": 0}}, "hyperparameters.n_epochs"),
        ({"hyperparameters": {"n_epochs": 99}}, "hyperparameters.n_epochs"),
        ({"hyperparameters": {"warmup": 3}}, "hyperparameters.warmup"),
        ({"method": {"type": "dpo"}}, "method.type"),
        ({"model": "no-such-model"}, "model"),
        ({"model": "ft:tiny-local:admin::0000000000000000"}, "model"),
        ({"training_file": "file-000000000000000000000000"}, "training_file"),
        ({"unknown_option": True}, "unknown_option"),
    ],
)
def test_create_refuses_what_it_cannot_honour_in_openais_envelope(
    client: Any, auth: dict[str, str], body: dict[str, Any], param: str
) -> None:
    if "training_file" not in body:
        body = {"training_file": _upload(client, auth, (json.dumps(CHAT) + "\n").encode()), **body}
    response = client.post(JOBS, json={"model": "tiny-local", **body}, headers=auth)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error", error
    assert error["message"]


def test_a_file_of_another_purpose_is_a_400_naming_training_file(client: Any, auth: dict[str, str]) -> None:
    file_id = _upload(client, auth, (json.dumps(CHAT) + "\n").encode(), purpose="user_data")
    response = client.post(JOBS, json={"model": "tiny-local", "training_file": file_id}, headers=auth)
    assert response.status_code == 400 and response.json()["error"]["param"] == "training_file"


def test_a_refused_file_is_a_failed_job_with_its_line_and_events(
    client: Any, auth: dict[str, str], bad_job: dict[str, Any]
) -> None:
    assert bad_job["object"] == "fine_tuning.job" and bad_job["status"] == "failed"
    assert bad_job["error"]["code"] == "invalid_training_file" and "line 2" in bad_job["error"]["message"]
    assert bad_job["training_job_id"] is None and bad_job["result_files"] == []
    again = client.get(f"{JOBS}/{bad_job['id']}", headers=auth).json()
    assert again["status"] == "failed" and again["error"] == bad_job["error"]
    events = client.get(f"{JOBS}/{bad_job['id']}/events", headers=auth).json()
    assert events["object"] == "list" and events["data"][0]["level"] == "error"
    assert {e["object"] for e in events["data"]} == {"fine_tuning.job.event"}
    page = client.get(f"{JOBS}/{bad_job['id']}/events", params={"limit": 1}, headers=auth).json()
    assert page["has_more"] and len(page["data"]) == 1
    checkpoints = client.get(f"{JOBS}/{bad_job['id']}/checkpoints", headers=auth).json()
    assert checkpoints == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_list_filters_on_metadata_and_pages(
    client: Any, auth: dict[str, str], bad_job: dict[str, Any]
) -> None:
    listed = client.get(JOBS, params={"metadata[t]": "bad"}, headers=auth).json()
    assert bad_job["id"] in [j["id"] for j in listed["data"]]
    assert client.get(JOBS, params={"metadata[t]": "other"}, headers=auth).json()["data"] == []
    bad = client.get(JOBS, params={"metadata": "t"}, headers=auth)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "metadata"
    assert client.get(JOBS, params={"limit": 0}, headers=auth).json()["error"]["param"] == "limit"


def test_unknown_jobs_pause_and_resume(client: Any, auth: dict[str, str], bad_job: dict[str, Any]) -> None:
    missing = client.get(f"{JOBS}/ftjob-0000000000000000", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "object_not_found"
    for action in ("pause", "resume"):
        refused = client.post(f"{JOBS}/{bad_job['id']}/{action}", headers=auth)
        assert refused.status_code == 400 and "cancel" in refused.json()["error"]["message"]
    cancel = client.post(f"{JOBS}/{bad_job['id']}/cancel", headers=auth)
    assert cancel.status_code == 400 and "failed" in cancel.json()["error"]["message"]


def test_an_ft_id_of_no_job_is_model_not_found_on_chat(client: Any, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/chat/completions",
        json={
            "model": "ft:tiny-local:admin:acc:0000000000000000",
            "messages": [{"role": "user", "content": "hi"}],
        },
        headers=auth,
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"


@pytest.fixture(params=["memory", "dynamodb"])
def records(request: pytest.FixtureRequest) -> Iterator[FineTuningRepository]:
    if request.param == "memory":
        yield InMemoryFineTuningRepository()
    else:
        services = request.getfixturevalue("services")
        yield DynamoDBFineTuningRepository(boto3.client("dynamodb"), services.settings.table_name)


def _record(owner: str, created_at: int, **changes: Any) -> FineTuningRecord:
    values: dict[str, Any] = {
        "id": new_job_id(),
        "owner": owner,
        "project_id": "ms-0000000000000000",
        "model": "tiny-local",
        "base_model": "tiny-local",
        "created_at": created_at,
        "training_file": "file-" + "0" * 24,
        "seed": 3,
        "hyperparameters": {"n_epochs": 3, "batch_size": 2, "learning_rate_multiplier": 0.5},
        "training_job_id": "tr-0000000000000000",
        "metadata": {"k": "v"},
        "suffix": "s",
    }
    return FineTuningRecord(**{**values, **changes})


def test_the_record_port_round_trips_orders_and_updates(records: FineTuningRepository) -> None:
    owner = "k" + secrets.token_hex(4)
    old, new = _record(owner, 10), _record(owner, 20, validation_file="file-" + "1" * 24)
    records.create(old)
    records.create(new)
    records.create(_record("someone-else", 30))
    assert records.get(owner, old.id) == old
    assert [r.id for r in records.list(owner)] == [new.id, old.id]
    with pytest.raises(ConflictError):
        records.create(old)
    refusal = JobError("invalid_training_file", "line 1: bad", "training_file")
    changed = records.update(owner, old.id, error=refusal, finished_at=11, result_file="file-" + "2" * 24)
    assert changed.error == refusal and changed.finished_at == 11 and records.get(owner, old.id) == changed
    with pytest.raises(NotFoundError):
        records.update(owner, new_job_id(), result_file="file-x")
    with pytest.raises(ValueError, match="cannot change"):
        records.update(owner, old.id, seed=4)
    assert records.get("someone-else", old.id) is None
