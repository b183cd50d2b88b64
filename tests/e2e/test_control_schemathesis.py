"""Schemathesis against the control-plane spec: projects, datasets and testing functions.

Bounded (derandomized, max 25 examples per operation), positive and negative data, with
real ids substituted into every other case so the happy paths run too. Every response must
be a non-5xx that conforms to the spec; the deviations below are the only exceptions.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.e2e

SPEC = Path(__file__).resolve().parent.parent / "specs" / "control-plane-openapi.yaml"
schema = (
    schemathesis.openapi.from_path(SPEC)
    .include(path_regex=r"^/v1/(projects|testing-functions)")
    # Deployments are not served yet; training-job routes answer 404 for an unknown project, unlisted below.
    .exclude(path_regex=r"/(training-jobs|deployments)")
)

# Statuses the spec does not list for an operation but Relay answers on purpose, in the
# spec's error envelope: the spec lists no 404 for a dataset route under an unknown
# project, no 413 for an upload beyond the Lambda payload, and no 409 for deleting a
# project or dataset still in use. Only these pairs skip `status_code_conformance`.
DOCUMENTED_DEVIATIONS = {
    ("POST", "/v1/projects/{project_id}/datasets"): {404, 413},
    ("GET", "/v1/projects/{project_id}/datasets"): {404},
    ("DELETE", "/v1/projects/{project_id}"): {409},
    ("DELETE", "/v1/projects/{project_id}/datasets/{dataset_id}"): {409},
}
ROWS = b'{"prompt": "2+2?", "completion": "4"}\n'
_alternate = itertools.count()


@pytest.fixture(scope="module")
def api(live_server: str, admin_key: str) -> tuple[str, dict[str, str]]:
    return live_server.removesuffix("/v1"), {"X-API-Key": admin_key}


def _real_ids(root: str, headers: dict[str, str]) -> tuple[str, str]:
    project = httpx.post(f"{root}/v1/projects", json={"name": "schemathesis"}, headers=headers).json()["id"]
    dataset = httpx.post(
        f"{root}/v1/projects/{project}/datasets", files={"file": ("d.jsonl", ROWS)}, headers=headers
    ).json()["id"]
    return project, dataset


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_control_plane_conforms_to_spec(case: Any, api: tuple[str, dict[str, str]]) -> None:
    root, headers = api
    if "project_id" in (case.path_parameters or {}) and next(_alternate) % 2 == 0:
        project, dataset = _real_ids(root, headers)
        case.path_parameters["project_id"] = project
        if "dataset_id" in case.path_parameters:
            case.path_parameters["dataset_id"] = dataset
    case.headers = {**(case.headers or {}), **headers}
    response = case.call(base_url=root)
    checks = [
        not_a_server_error,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    deviations = DOCUMENTED_DEVIATIONS.get((case.method.upper(), case.path), set())
    if response.status_code not in deviations:
        checks.append(status_code_conformance)
    case.validate_response(response, checks=checks, headers=headers)
    if response.status_code in deviations:
        body = response.json()
        assert body["status"] == response.status_code and body["error"] and body["code"]
