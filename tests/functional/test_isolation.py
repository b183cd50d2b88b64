"""Isolation between keys: another key's project and everything under it is 404; the admin sees all."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

pytestmark = pytest.mark.functional

ROWS = b"".join(
    json.dumps(
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}
    ).encode()
    + b"\n"
    for i in range(6)
)


def _key(client: Any, auth: dict[str, str], name: str) -> dict[str, str]:
    created = client.post("/v1/keys", json={"name": name}, headers=auth)
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['key']}"}


@pytest.fixture(scope="module")
def world(client: Any, admin_key: str) -> dict[str, Any]:
    """Keys u and v; u owns a project with a dataset, the admin owns one of its own."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    u, v = _key(client, admin, "u"), _key(client, admin, "v")
    mine = client.post("/v1/projects", json={"name": "u's"}, headers=u).json()["id"]
    dataset = client.post(
        f"/v1/projects/{mine}/datasets", files={"file": ("d.jsonl", ROWS)}, headers=u
    ).json()["id"]
    admins = client.post("/v1/projects", json={"name": "admin's"}, headers=admin).json()["id"]
    return {"admin": admin, "u": u, "v": v, "mine": mine, "dataset": dataset, "admins": admins}


def _not_found(response: Any) -> None:
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["code"] == "object_not_found" and body["status"] == 404


def test_a_created_key_cannot_delete_the_admins_project(client: Any, world: dict[str, Any]) -> None:
    _not_found(client.delete(f"/v1/projects/{world['admins']}", headers=world["u"]))
    assert client.get(f"/v1/projects/{world['admins']}", headers=world["admin"]).status_code == 200


def test_listing_shows_only_the_callers_projects_and_the_admin_sees_all(
    client: Any, world: dict[str, Any]
) -> None:
    listed_u = {p["id"] for p in client.get("/v1/projects", headers=world["u"]).json()}
    listed_v = {p["id"] for p in client.get("/v1/projects", headers=world["v"]).json()}
    listed_admin = {p["id"] for p in client.get("/v1/projects", headers=world["admin"]).json()}
    assert listed_u == {world["mine"]}
    assert listed_v == set()
    assert {world["mine"], world["admins"]} <= listed_admin


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/v1/projects/{p}", {}),
        ("DELETE", "/v1/projects/{p}", {}),
        ("GET", "/v1/projects/{p}/datasets", {}),
        ("GET", "/v1/projects/{p}/datasets/{d}", {}),
        ("DELETE", "/v1/projects/{p}/datasets/{d}", {}),
        ("POST", "/v1/projects/{p}/datasets/{d}/complete", {}),
        ("POST", "/v1/projects/{p}/datasets", {"files": {"file": ("d.jsonl", ROWS)}}),
        (
            "POST",
            "/v1/projects/{p}/datasets/uploads",
            {"json": {"size": len(ROWS), "sha256": hashlib.sha256(ROWS).hexdigest()}},
        ),
        ("GET", "/v1/projects/{p}/training-jobs", {}),
        (
            "POST",
            "/v1/projects/{p}/training-jobs",
            {"json": {"base_model": "tiny-local", "train_dataset_id": "{d}"}},
        ),
        ("GET", "/v1/projects/{p}/training-jobs/tr-aaaaaaaaaaaaaaaa", {}),
        ("DELETE", "/v1/projects/{p}/training-jobs/tr-aaaaaaaaaaaaaaaa", {}),
        ("POST", "/v1/projects/{p}/training-jobs/tr-aaaaaaaaaaaaaaaa/cancel", {}),
        ("GET", "/v1/projects/{p}/training-jobs/tr-aaaaaaaaaaaaaaaa/checkpoints", {}),
        ("GET", "/v1/projects/{p}/deployments", {}),
        (
            "POST",
            "/v1/projects/{p}/deployments",
            {"json": {"training_job_id": "tiny-local", "checkpoint": 0}},
        ),
        ("GET", "/v1/projects/{p}/deployments/dp-aaaaaaaaaaaaaaaa", {}),
        ("DELETE", "/v1/projects/{p}/deployments/dp-aaaaaaaaaaaaaaaa", {}),
    ],
)
def test_another_keys_project_is_404_on_every_route(
    client: Any, world: dict[str, Any], method: str, path: str, kwargs: dict[str, Any]
) -> None:
    url = path.format(p=world["mine"], d=world["dataset"])
    if "json" in kwargs:
        kwargs = {"json": json.loads(json.dumps(kwargs["json"]).replace("{d}", world["dataset"]))}
    _not_found(client.request(method, url, headers=world["v"], **kwargs))
    # Nothing changed for the owner: the project and its one dataset are still there.
    detail = client.get(f"/v1/projects/{world['mine']}", headers=world["u"])
    assert detail.status_code == 200
    assert [d["id"] for d in detail.json()["datasets"]] == [world["dataset"]]
    assert detail.json()["training_jobs"] == [] and detail.json()["deployments"] == []


def test_the_owner_and_the_admin_reach_the_dataset(client: Any, world: dict[str, Any]) -> None:
    for who in ("u", "admin"):
        got = client.get(f"/v1/projects/{world['mine']}/datasets/{world['dataset']}", headers=world[who])
        assert got.status_code == 200 and got.json()["dataset_download_url"], got.text
    assert client.get(f"/v1/projects/{world['admins']}", headers=world["u"]).status_code == 404


def test_the_owner_deletes_its_own_project(client: Any, world: dict[str, Any]) -> None:
    own = client.post("/v1/projects", json={"name": "short-lived"}, headers=world["v"]).json()["id"]
    _not_found(client.get(f"/v1/projects/{own}", headers=world["u"]))
    assert client.delete(f"/v1/projects/{own}", headers=world["v"]).status_code == 204
    _not_found(client.get(f"/v1/projects/{own}", headers=world["admin"]))
