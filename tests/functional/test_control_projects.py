"""Projects, datasets, keys, testing functions and base models through the app, on moto."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import httpx
import pytest

pytestmark = pytest.mark.functional

CHAT = b"".join(
    json.dumps(
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
    ).encode()
    + b"\n"
    for i in range(10)
)


@pytest.fixture()
def project(client: Any, auth: dict[str, str]) -> str:
    response = client.post("/v1/projects", json={"name": "functional"}, headers=auth)
    assert response.status_code == 201
    return str(response.json()["id"])


def upload(
    client: Any, auth: dict[str, str], project: str, data: bytes, filename: str = "d.jsonl", **form: str
) -> Any:
    return client.post(
        f"/v1/projects/{project}/datasets", files={"file": (filename, data)}, data=form, headers=auth
    )


def assert_control_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "error", "code"} and body["status"] == status
    if code:
        assert body["code"] == code
    return body


def test_project_lifecycle_with_unicode_name(client: Any, auth: dict[str, str]) -> None:
    created = client.post("/v1/projects", json={"name": "Étude 日本語 🚀"}, headers=auth).json()
    assert created["id"].startswith("ms-") and created["name"] == "Étude 日本語 🚀"
    unnamed = client.post("/v1/projects", headers=auth)
    assert unnamed.status_code == 201 and unnamed.json()["name"] == unnamed.json()["id"]
    listed = {p["id"] for p in client.get("/v1/projects", headers=auth).json()}
    assert {created["id"], unnamed.json()["id"]} <= listed
    detail = client.get(f"/v1/projects/{created['id']}", headers=auth).json()
    assert detail["datasets"] == [] and detail["training_jobs"] == [] and detail["deployments"] == []
    assert client.delete(f"/v1/projects/{created['id']}", headers=auth).status_code == 204
    assert_control_error(client.get(f"/v1/projects/{created['id']}", headers=auth), 404, "object_not_found")
    assert created["id"] not in {p["id"] for p in client.get("/v1/projects", headers=auth).json()}


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"name": "x" * 300}}, 400),
        ({"json": {"name": 5}}, 400),
        ({"json": ["not", "an", "object"]}, 400),
        ({"content": b"name=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400),
        ({"content": b"{broken", "headers": {"Content-Type": "application/json"}}, 400),
    ],
)
def test_bad_project_bodies(client: Any, auth: dict[str, str], kwargs: dict[str, Any], status: int) -> None:
    headers = {**auth, **kwargs.pop("headers", {})}
    assert_control_error(client.post("/v1/projects", headers=headers, **kwargs), status)


@pytest.mark.parametrize("bad_id", ["ms-0000000000000000", "ds-0123456789abcdef", "engine-1", "%E2%9C%93"])
def test_unknown_ids_and_ids_of_other_types(
    client: Any, auth: dict[str, str], project: str, bad_id: str
) -> None:
    assert_control_error(client.get(f"/v1/projects/{bad_id}", headers=auth), 404, "object_not_found")
    assert_control_error(client.delete(f"/v1/projects/{bad_id}", headers=auth), 404)
    assert_control_error(client.get(f"/v1/projects/{project}/datasets/{bad_id}", headers=auth), 404)
    assert_control_error(client.get(f"/v1/projects/{project}/datasets/{project}", headers=auth), 404)


def test_routes_need_a_key(client: Any) -> None:
    assert_control_error(client.get("/v1/projects"), 401)
    assert_control_error(client.get("/v1/testing-functions", headers={"X-API-Key": "sk-relay-nope"}), 401)


def test_multipart_upload_and_download_round_trip(client: Any, auth: dict[str, str], project: str) -> None:
    response = upload(client, auth, project, CHAT, name="Ünïcødé set")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["is_uploaded"] and body["format"] == "chat" and body["num_rows"] == 10
    assert body["sha256"] == hashlib.sha256(CHAT).hexdigest() and body["name"] == "Ünïcødé set"
    detail = client.get(f"/v1/projects/{project}/datasets/{body['id']}", headers=auth).json()
    assert httpx.get(detail["dataset_download_url"]).content == CHAT
    listed = client.get(f"/v1/projects/{project}/datasets", headers=auth).json()
    assert listed == [
        {"id": body["id"], "name": "Ünïcødé set", "created_at": body["created_at"], "is_uploaded": True}
    ]


@pytest.mark.parametrize(
    ("data", "filename", "needle"),
    [
        (b"", "d.jsonl", "empty"),
        (bytes(range(256)) * 40, "blob.bin", "line 1"),
        (b"\x00\xff\xfe\x80" * 100, "blob.jsonl", "not UTF-8"),
        (CHAT + b'{"prompt": "x"}\n', "d.jsonl", "line 11"),
    ],
)
def test_invalid_files_are_refused_and_not_recorded(
    client: Any, auth: dict[str, str], project: str, data: bytes, filename: str, needle: str
) -> None:
    body = assert_control_error(upload(client, auth, project, data, filename), 400)
    assert needle in body["error"]
    assert client.get(f"/v1/projects/{project}/datasets", headers=auth).json() == []


def test_malformed_upload_requests(client: Any, auth: dict[str, str], project: str) -> None:
    url = f"/v1/projects/{project}/datasets"
    assert_control_error(client.post(url, json={"file": "x"}, headers=auth), 400)
    assert_control_error(
        client.post(url, data={"name": "no file"}, files={"other": ("a", b"b")}, headers=auth), 400
    )
    assert_control_error(upload(client, auth, project, CHAT, name="n" * 1000), 400)
    assert_control_error(upload(client, auth, "ms-0000000000000000", CHAT), 404)


def test_bodies_beyond_the_lambda_limit_get_413_pointing_to_the_presigned_flow(
    client: Any, auth: dict[str, str], project: str, services: Any
) -> None:
    six_mb = b'{"text": "a", "label": "b"}\n' * (6_000_000 // 28)
    body = assert_control_error(upload(client, auth, project, six_mb), 413)
    assert "presigned" in body["error"] and str(services.settings.dataset_inline_max_bytes) in body["error"]
    just_over = b"a" * (services.settings.dataset_inline_max_bytes + 1)
    assert_control_error(upload(client, auth, project, just_over), 413)
    over_lambda = b"a" * (6 * 1024 * 1024 + 1)
    assert_control_error(upload(client, auth, project, over_lambda), 413)
    assert client.get(f"/v1/projects/{project}/datasets", headers=auth).json() == []


def test_presigned_flow_against_moto(client: Any, auth: dict[str, str], project: str) -> None:
    data = CHAT * 50
    start = client.post(
        f"/v1/projects/{project}/datasets/uploads",
        json={"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "filename": "big.jsonl"},
        headers=auth,
    )
    assert start.status_code == 201, start.text
    started = start.json()
    assert started["is_uploaded"] is False and started["upload"]["method"] == "POST"
    assert_control_error(client.post(started["complete_url"], headers=auth), 409, "upload_incomplete")
    form = started["upload"]
    # moto does not enforce POST policies, so the app's own check must catch wrong bytes.
    wrong = httpx.post(form["url"], data=form["fields"], files={"file": ("big.jsonl", data[:-1] + b" ")})
    assert wrong.status_code == 204  # S3 POST without success_action_status
    assert_control_error(client.post(started["complete_url"], headers=auth), 400, "checksum_mismatch")
    assert (
        client.get(f"/v1/projects/{project}/datasets/{started['id']}", headers=auth).json()["is_uploaded"]
        is False
    )
    right = httpx.post(form["url"], data=form["fields"], files={"file": ("big.jsonl", data)})
    assert right.status_code == 204
    done = client.post(started["complete_url"], headers=auth)
    assert done.status_code == 200 and done.json()["is_uploaded"] and done.json()["num_rows"] == 500
    assert httpx.get(done.json()["dataset_download_url"]).content == data


@pytest.mark.parametrize(
    "payload",
    [{}, {"size": 0, "sha256": "0" * 64}, {"size": 10, "sha256": "xyz"}, {"size": "big", "sha256": "0" * 64}],
)
def test_presigned_declarations_are_validated(
    client: Any, auth: dict[str, str], project: str, payload: Any
) -> None:
    assert_control_error(
        client.post(f"/v1/projects/{project}/datasets/uploads", json=payload, headers=auth), 400
    )


def test_too_large_presigned_declaration(client: Any, auth: dict[str, str], project: str) -> None:
    payload = {"size": 5 * 1024**3 + 1, "sha256": "0" * 64}
    assert_control_error(
        client.post(f"/v1/projects/{project}/datasets/uploads", json=payload, headers=auth), 413
    )


def test_deletes_refuse_while_a_training_job_runs_then_leave_nothing(
    client: Any, auth: dict[str, str], project: str, services: Any
) -> None:
    dataset = upload(client, auth, project, CHAT).json()["id"]
    table, bucket = services.settings.table_name, services.settings.bucket_name
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    job_key = {"pk": {"S": f"PROJECT#{project}"}, "sk": {"S": "TRAINING#tr-0123456789abcdef"}}
    from relay.services.training.models import TrainingJob

    # A running job as the training feature stores it (its own creation is tested elsewhere).
    services.training_job_repository.create(
        TrainingJob(
            id="tr-0123456789abcdef", project_id=project, name="run", created_at=1, updated_at=1,
            status="Running", train_dataset_id=dataset,
        )
    )  # fmt: skip
    # The spec's TrainingJobSummary fields, those without a value left out.
    assert client.get(f"/v1/projects/{project}", headers=auth).json()["training_jobs"] == [
        {
            "id": "tr-0123456789abcdef", "name": "run", "training_technique": "SFT",
            "task_type": "text-generation", "base_model_option": "pre-trained", "base_model": "",
            "test_functions": [], "status": "Running", "progress": 0, "created_by": "",
            "created_at": 1, "updated_at": 1,
        }
    ]  # fmt: skip
    assert_control_error(client.delete(f"/v1/projects/{project}/datasets/{dataset}", headers=auth), 409)
    assert_control_error(client.delete(f"/v1/projects/{project}", headers=auth), 409, "project_in_use")
    ddb.update_item(
        TableName=table,
        Key=job_key,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "Failed"}},
    )
    assert client.delete(f"/v1/projects/{project}/datasets/{dataset}", headers=auth).status_code == 204
    upload(client, auth, project, CHAT)
    assert client.delete(f"/v1/projects/{project}", headers=auth).status_code == 204
    left = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"PROJECT#{project}"}},
    )
    assert left["Items"] == []
    versions = s3.list_object_versions(Bucket=bucket, Prefix=f"projects/{project}/")
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")


def test_api_keys_are_admin_only_and_revocable(client: Any, auth: dict[str, str]) -> None:
    created = client.post("/v1/keys", json={"name": "ci bot"}, headers=auth)
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith(key["prefix"] + "-") and key["name"] == "ci bot"
    user = {"Authorization": f"Bearer {key['key']}"}
    assert client.get("/v1/projects", headers=user).status_code == 200
    assert_control_error(client.get("/v1/keys", headers=user), 403)
    assert_control_error(client.post("/v1/keys", headers=user), 403)
    listed = {k["id"]: k for k in client.get("/v1/keys", headers=auth).json()}
    assert "key" not in listed[key["id"]] and listed[key["id"]]["last_used_at"] is not None
    assert client.delete(f"/v1/keys/{key['id']}", headers=auth).status_code == 204
    assert_control_error(client.get("/v1/projects", headers=user), 401)
    assert_control_error(client.delete(f"/v1/keys/{key['id']}", headers=auth), 404)
    assert_control_error(client.delete(f"/v1/keys/{'x' * 2000}", headers=auth), 404)


def test_testing_functions_and_catalogue(client: Any, auth: dict[str, str]) -> None:
    functions = {f["name"]: f for f in client.get("/v1/testing-functions", headers=auth).json()}
    assert functions["exact_match"]["content"].startswith("def exact_match(")
    assert functions["exact_match"]["dependencies"] == []
    models = {m["id"]: m for m in client.get("/v1/models", headers=auth).json()["data"]}
    assert models["tiny-local"]["parameter_template"]["learning_rate"] == 0.0002
    one = client.get("/v1/models/Qwen2.5-7B-Instruct", headers=auth).json()
    assert one["type"] == "chat" and one["support_serverless"] is True
