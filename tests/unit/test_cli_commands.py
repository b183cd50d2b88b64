"""The `relay` commands against an httpx MockTransport speaking the API's shapes (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from relay_cli.commands import datasets
from relay_cli.main import run

pytestmark = pytest.mark.unit

BASE = "http://relay.test/v1"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeApi:
    """Routes `METHOD /path` to canned answers and records every request it saw."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        request.read()
        answer = self.routes.get(f"{request.method} {request.url.path}")
        if answer is None:
            return httpx.Response(404, json={"status": 404, "error": "Not Found", "code": "not_found"})
        if callable(answer):
            return answer(request)  # type: ignore[no-any-return]
        status, body = answer
        return httpx.Response(status) if body is None else httpx.Response(status, json=body)

    def bodies(self, route: str) -> list[Any]:
        method, path = route.split(" ", 1)
        return [json.loads(r.content) for r in self.seen if r.method == method and r.url.path == path]


def relay(
    api: FakeApi, *args: str, capsys: pytest.CaptureFixture[str], env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    env = env if env is not None else {"OPENAI_BASE_URL": BASE, "OPENAI_API_KEY": "k-test"}
    with pytest.raises(SystemExit) as exit_info:
        run(list(args), obj={"transport": httpx.MockTransport(api), "env": env, "cwd": Path("/")})
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


MODELS = {
    "object": "list",
    "data": [
        {"id": "amazon.nova-lite-v1:0", "type": "chat", "owned_by": "amazon", "name": "Nova Lite"},
        {"id": "amazon.titan-embed-text-v2:0", "type": "embeddings", "owned_by": "amazon", "name": "Titan"},
        {"id": "qwen-chat/dev", "type": "chat", "owned_by": "sagemaker", "name": "qwen-chat"},
        {"id": "tiny-local", "type": "chat", "owned_by": "relay", "name": "tiny"},
    ],
}


def test_models_filters_by_type_and_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi({"GET /v1/models": (200, MODELS)})
    code, out, _ = relay(api, "models", "--type", "embeddings", "--json", capsys=capsys)
    assert code == 0
    assert [m["id"] for m in json.loads(out)] == ["amazon.titan-embed-text-v2:0"]
    assert api.seen[0].headers["authorization"] == "Bearer k-test"


def test_models_table_lists_ids(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = relay(FakeApi({"GET /v1/models": (200, MODELS)}), "models", capsys=capsys)
    assert code == 0 and "4 models" in out and "amazon.nova-lite-v1:0" in out


def test_control_plane_error_prints_the_api_message_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi(
        {
            "GET /v1/projects/ms-x": (
                404,
                {"status": 404, "error": "No project with id 'ms-x'", "code": "object_not_found"},
            )
        }
    )
    code, out, err = relay(api, "projects", "show", "ms-x", capsys=capsys)
    assert code == 1 and out == ""
    assert "No project with id 'ms-x' (HTTP 404, object_not_found)" in err
    assert "Traceback" not in err


def test_openai_envelope_error_is_read_too(capsys: pytest.CaptureFixture[str]) -> None:
    body = {
        "error": {
            "message": "Incorrect API key provided",
            "type": "authentication_error",
            "code": "invalid_api_key",
        }
    }
    code, _, err = relay(FakeApi({"GET /v1/models": (401, body)}), "models", capsys=capsys)
    assert code == 1 and "Incorrect API key provided (HTTP 401, invalid_api_key)" in err


def test_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    code, _, err = relay(FakeApi({"GET /v1/models": refuse}), "models", capsys=capsys)
    assert code == 1 and f"Cannot reach {BASE}: Connection refused" in err and "Traceback" not in err


def test_no_target_is_an_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = relay(FakeApi({}), "models", capsys=capsys, env={})
    assert code == 1 and "No Relay to talk to" in err and "Traceback" not in err


def test_keys_create_json_includes_the_secret_once(capsys: pytest.CaptureFixture[str]) -> None:
    created = {
        "id": "abc123def456",
        "object": "api_key",
        "name": "ci",
        "prefix": "sk-relay-abc",
        "created_at": 1,
        "key": "sk-relay-abc-secret",
    }
    api = FakeApi({"POST /v1/keys": (201, created)})
    code, out, _ = relay(api, "keys", "create", "--name", "ci", "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["key"] == "sk-relay-abc-secret"
    assert api.bodies("POST /v1/keys") == [{"name": "ci"}]


def test_keys_show_unknown_id_is_404(capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi(
        {"GET /v1/keys": (200, [{"id": "aaaaaaaaaaaa", "name": "x", "prefix": "p", "created_at": 1}])}
    )
    code, _, err = relay(api, "keys", "show", "bbbbbbbbbbbb", capsys=capsys)
    assert code == 1 and "API key bbbbbbbbbbbb not found (HTTP 404" in err


def test_keys_revoke_json(capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi({"DELETE /v1/keys/aaaaaaaaaaaa": (204, None)})
    code, out, _ = relay(api, "keys", "revoke", "aaaaaaaaaaaa", "--json", capsys=capsys)
    assert code == 0 and json.loads(out) == {"id": "aaaaaaaaaaaa", "revoked": True}


def test_projects_create_sends_the_name(capsys: pytest.CaptureFixture[str]) -> None:
    project = {"id": "ms-1", "name": "demo", "created_at": 1, "updated_at": 1}
    api = FakeApi({"POST /v1/projects": (201, project)})
    code, out, _ = relay(api, "projects", "create", "--name", "demo", "--json", capsys=capsys)
    assert code == 0 and json.loads(out) == project and api.bodies("POST /v1/projects") == [{"name": "demo"}]


# ------------------------------------------------------------------------------ datasets


def dataset(status: str = "uploaded", **extra: Any) -> dict[str, Any]:
    return {
        "id": "ds-1",
        "name": "qa",
        "is_uploaded": status == "uploaded",
        "status": status,
        "upload_by": "admin",
        "created_at": 1,
        "updated_at": 1,
        "filename": "qa.jsonl",
        "size": 10,
        "sha256": "0" * 64,
        **extra,
    }


def test_small_upload_is_one_multipart_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "qa.jsonl"
    file.write_bytes(b'{"prompt": "a", "completion": "b"}\n')
    api = FakeApi({"POST /v1/projects/ms-1/datasets": (201, dataset())})
    code, out, err = relay(
        api, "datasets", "upload", "ms-1", str(file), "--name", "qa", "--json", capsys=capsys
    )
    assert code == 0 and json.loads(out)["id"] == "ds-1"
    (request,) = api.seen
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert int(request.headers["content-length"]) == len(request.content)
    assert b'name="name"\r\n\r\nqa\r\n' in request.content
    assert (
        b'filename="qa.jsonl"' in request.content
        and b'{"prompt": "a", "completion": "b"}\n' in request.content
    )
    assert "Uploading qa.jsonl" in err  # the byte progress bar goes to stderr, not into the JSON


def test_large_upload_goes_presigned_and_waits_for_verification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datasets, "DIRECT_MAX_BYTES", 8)
    monkeypatch.setattr(datasets.time, "sleep", lambda _: None)
    file = tmp_path / "big.jsonl"
    file.write_bytes(b'{"prompt": "a", "completion": "b"}\n' * 3)
    polls = iter(
        [
            dataset("verifying"),
            dataset(
                "invalid",
                error={
                    "code": "invalid_dataset",
                    "message": "The dataset is not valid",
                    "problem_lines": 3,
                    "lines": [{"line": 2, "message": "not valid JSON"}],
                },
            ),
        ]
    )
    upload = {"id": "ds-1", "upload": {"url": "http://s3.test/bucket", "fields": {"key": "k", "policy": "p"}}}
    api = FakeApi(
        {
            "POST /v1/projects/ms-1/datasets/uploads": (201, upload),
            "POST /bucket": (204, None),
            "POST /v1/projects/ms-1/datasets/ds-1/complete": (202, dataset("verifying")),
            "GET /v1/projects/ms-1/datasets/ds-1": lambda _: httpx.Response(200, json=next(polls)),
        }
    )
    code, out, _ = relay(api, "datasets", "upload", "ms-1", str(file), capsys=capsys)
    assert code == 1  # invalid
    declared = api.bodies("POST /v1/projects/ms-1/datasets/uploads")[0]
    assert declared["size"] == file.stat().st_size and len(declared["sha256"]) == 64
    s3 = next(r for r in api.seen if r.url.host == "s3.test")
    assert "authorization" not in s3.headers  # the API key never goes to S3
    assert s3.content.index(b'name="policy"') < s3.content.index(b'name="file"')  # S3 wants the file last
    assert "line 2: not valid JSON" in out and "and 2 more line(s)" in out


def test_auto_upload_falls_back_to_presigned_on_413(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "qa.jsonl"
    file.write_bytes(b'{"prompt": "a", "completion": "b"}\n')
    too_large = {"status": 413, "error": "Request body exceeds 1024 bytes", "code": "payload_too_large"}
    upload = {"id": "ds-1", "upload": {"url": "http://s3.test/bucket", "fields": {"key": "k"}}}
    api = FakeApi(
        {
            "POST /v1/projects/ms-1/datasets": (413, too_large),
            "POST /v1/projects/ms-1/datasets/uploads": (201, upload),
            "POST /bucket": (204, None),
            "POST /v1/projects/ms-1/datasets/ds-1/complete": (200, dataset()),
        }
    )
    code, out, err = relay(api, "datasets", "upload", "ms-1", str(file), "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["status"] == "uploaded" and "presigned S3 instead" in err
    forced = FakeApi({"POST /v1/projects/ms-1/datasets": (413, too_large)})
    code, _, err = relay(forced, "datasets", "upload", "ms-1", str(file), "--via", "direct", capsys=capsys)
    assert code == 1 and "exceeds 1024 bytes (HTTP 413" in err  # an explicit --via is obeyed


def test_direct_rejection_lists_one_problem_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "bad.jsonl"
    file.write_bytes(b"nope\n")
    message = (
        "The dataset is not valid (2 line(s) with problems): line 1: not valid JSON; line 3: unrecognised row"
    )
    api = FakeApi(
        {
            "POST /v1/projects/ms-1/datasets": (
                400,
                {"status": 400, "error": message, "code": "invalid_dataset"},
            )
        }
    )
    code, _, err = relay(api, "datasets", "upload", "ms-1", str(file), capsys=capsys)
    assert code == 1
    assert "problems):\n  line 1: not valid JSON\n  line 3: unrecognised row" in err


# ------------------------------------------------------------------------------ training


def job(status: str, progress: int, losses: int = 0, **extra: Any) -> dict[str, Any]:
    loss = [{"timestamp": 1000.0 + i, "loss": 2.0 - i / 10} for i in range(losses)]
    return {
        "id": "tr-1",
        "name": "sft",
        "status": status,
        "progress": progress,
        "base_model": "tiny-local",
        "training_technique": "SFT",
        "training_loss": loss,
        **extra,
    }


CHECKPOINTS = [
    {
        "checkpoint": 5,
        "created_at": 1,
        "model_download_url": "s3://b/ck-5/",
        "test_results": {"aggregated_test_result": {"exact_match": "0.5000"}},
    }
]


def training_api(states: list[dict[str, Any]]) -> FakeApi:
    polls = iter(states)
    return FakeApi(
        {
            "POST /v1/projects/ms-1/training-jobs": (201, job("Pending", 0)),
            "GET /v1/projects": (200, [{"id": "ms-1", "name": "p"}]),
            "GET /v1/projects/ms-1/training-jobs": (200, [job("Running", 10)]),
            "GET /v1/projects/ms-1/training-jobs/tr-1": lambda _: httpx.Response(200, json=next(polls)),
            "GET /v1/projects/ms-1/training-jobs/tr-1/checkpoints": (200, CHECKPOINTS),
            "POST /v1/projects/ms-1/training-jobs/tr-1/cancel": (204, None),
        }
    )


def test_train_builds_the_body_from_options(capsys: pytest.CaptureFixture[str]) -> None:
    api = training_api([])
    args = ["train", "ms-1", "--base-model", "tiny-local", "--dataset", "ds-1", "--split", "25"]
    args += ["--test-function", "exact_match", "--param", "num_train_epochs=2", "--param", "note=x", "--json"]
    code, out, _ = relay(api, *args, capsys=capsys)
    assert code == 0 and json.loads(out)["id"] == "tr-1"
    assert api.bodies("POST /v1/projects/ms-1/training-jobs") == [
        {
            "base_model": "tiny-local",
            "train_dataset_id": "ds-1",
            "train_test_split_ratio": 25.0,
            "test_functions": ["exact_match"],
            "parameters": {"num_train_epochs": 2, "note": "x"},
        }
    ]


def test_reward_without_grpo_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = relay(
        training_api([]),
        "train",
        "ms-1",
        "--base-model",
        "m",
        "--dataset",
        "d",
        "--reward",
        "exact_match=1",
        capsys=capsys,
    )
    assert code == 2 and "add --grpo" in err


def test_watch_follows_to_success_then_shows_checkpoints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("relay_cli.watch.time.sleep", lambda _: None)
    api = training_api(
        [
            job("Pending", 0),
            job("Running", 40, 2),
            job("Running", 40, 2),
            job("Testing", 100, 4),
            job("Success", 100, 4),
        ]
    )
    code, out, err = relay(api, "jobs", "watch", "tr-1", capsys=capsys)
    assert code == 0
    progress = [line for line in err.splitlines() if line.startswith("tr-1:")]
    assert progress == [
        "tr-1: Pending 0% step 0 loss -",
        "tr-1: Running 40% step 2 loss 1.9000",
        "tr-1: Testing 100% step 4 loss 1.7000",
        "tr-1: Success 100% step 4 loss 1.7000",
    ]
    assert "Success" in out and "exact_match" in out and "0.5000" in out


def test_watch_of_a_failed_job_exits_1_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    api = training_api([job("Failed", 20, failure_reason="AlgorithmError: out of memory")])
    code, _, err = relay(api, "jobs", "watch", "tr-1", "--project", "ms-1", capsys=capsys)
    assert code == 1 and "ended Failed: AlgorithmError: out of memory" in err


def test_ctrl_c_stops_watching_not_the_job(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(_: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    api = training_api([])
    api.routes["GET /v1/projects/ms-1/training-jobs/tr-1"] = interrupted
    code, _, err = relay(api, "jobs", "watch", "tr-1", "-p", "ms-1", capsys=capsys)
    assert code == 130 and "tr-1 keeps running" in err
    assert not [r for r in api.seen if r.url.path.endswith("/cancel")]


def test_plot_writes_a_png_titled_with_the_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    output = tmp_path / "loss.png"
    code, out, _ = relay(
        training_api([job("Success", 100, 6)]),
        "jobs",
        "plot",
        "tr-1",
        "-o",
        str(output),
        "--json",
        capsys=capsys,
    )
    assert code == 0 and json.loads(out) == {"id": "tr-1", "output": str(output), "points": 6}
    assert output.stat().st_size > 5000
    with Image.open(output) as image:
        image.verify()
        assert image.format == "PNG" and image.size == (800, 450)


def test_plot_without_losses_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = relay(
        training_api([job("Pending", 0)]),
        "jobs",
        "plot",
        "tr-1",
        "-o",
        str(tmp_path / "x.png"),
        capsys=capsys,
    )
    assert code == 1 and "has logged no loss yet" in err and not (tmp_path / "x.png").exists()


def test_cancel_then_reports_the_status(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = relay(
        training_api([job("Cancelled", 30)]), "jobs", "cancel", "tr-1", "--json", capsys=capsys
    )
    assert code == 0 and json.loads(out)["status"] == "Cancelled"


# --------------------------------------------------------------------- status and deploy


def status_api(deployments: bool) -> FakeApi:
    routes: dict[str, Any] = {
        "GET /v1/models": (200, MODELS),
        "GET /v1/admin/models": (
            200,
            {
                "object": "list",
                "data": [
                    {"id": "qwen-chat/dev", "endpoint_name": "qwen", "flavour": "openai", "type": "chat"}
                ],
            },
        ),
        "GET /v1/projects": (200, [{"id": "ms-1", "name": "p"}]),
        "GET /v1/projects/ms-1/training-jobs": (
            200,
            [job("Running", 50), {**job("Success", 100), "id": "tr-2"}],
        ),
    }
    if deployments:
        routes["GET /v1/projects/ms-1/deployments"] = (
            200,
            [{"id": "dp-1", "name": "caps", "status": "Deployed", "created_at": 1}],
        )
        routes["GET /v1/projects/ms-1/deployments/dp-1"] = (
            200,
            {
                "id": "dp-1",
                "name": "caps",
                "status": "Deployed",
                "base_model": "tiny-local",
                "engine_id": "engine-1",
            },
        )
        routes["GET /v1/engines/engine-1"] = (
            200,
            {"id": "engine-1", "instance_type": "ml.g5.xlarge", "last_access_timestamp": 1_700_000_000},
        )
    return FakeApi(routes)


def test_status_json_counts_models_by_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = relay(status_api(deployments=True), "status", "--json", capsys=capsys)
    report = json.loads(out)
    assert code == 0 and report["base_url"] == BASE and report["api_key_location"] == "OPENAI_API_KEY"
    assert report["models"] == {"bedrock": 2, "sagemaker": 1, "fine_tuning_base_models": 1}
    assert [m["id"] for m in report["registered_models"]] == ["qwen-chat/dev"]
    (deployment,) = report["deployments"]
    assert (deployment["instance_type"], deployment["last_accessed_at"]) == ("ml.g5.xlarge", 1_700_000_000)
    assert deployment["copies"] is None  # not reported by this server, so not made up
    assert [j["id"] for j in report["training_jobs"]] == ["tr-1"]  # finished jobs are not "running"


def test_status_without_deployment_routes_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = relay(status_api(deployments=False), "status", capsys=capsys)
    assert code == 0 and "no deployment routes" in out and "tr-1" in out and "qwen-chat/dev" in out


def test_status_table_shows_deployment_status_instance_type_and_last_access(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("relay_cli.output.time.time", lambda: 1_700_000_000 + 7200)
    monkeypatch.setattr("relay_cli.output.console.width", 200)
    code, out, _ = relay(status_api(deployments=True), "status", capsys=capsys)
    (row,) = [line for line in out.splitlines() if "caps" in line]
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert code == 0 and cells == ["ms-1", "caps", "Deployed", "tiny-local", "ml.g5.xlarge", "2h ago"]
    assert "Copies: this server does not report them." in out


def test_status_shows_copies_where_the_engine_reports_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("relay_cli.output.console.width", 200)
    api = status_api(deployments=True)
    api.routes["GET /v1/engines/engine-1"] = (
        200,
        {"id": "engine-1", "instance_type": "ml.g5.xlarge", "copies": 2},
    )
    code, out, _ = relay(api, "status", capsys=capsys)
    (row,) = [line for line in out.splitlines() if "caps" in line]
    assert code == 0 and [c.strip() for c in row.split("│")[1:-1]][5:] == ["2", "never"]
    assert "copies" in out and "does not report" not in out


def test_models_lists_deployments_and_fine_tuned_ids_as_the_api_returns_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    served = [
        {"id": "caps", "type": "chat", "owned_by": "sagemaker", "name": "caps"},
        {"id": "ft:tiny-local:capitals:ftjob-1", "type": "chat", "owned_by": "sagemaker", "name": None},
    ]
    api = FakeApi({"GET /v1/models": (200, {"object": "list", "data": [*MODELS["data"], *served]})})
    code, out, _ = relay(api, "models", "--type", "chat", "--json", capsys=capsys)
    ids = [m["id"] for m in json.loads(out)]
    assert code == 0 and ids[-2:] == ["caps", "ft:tiny-local:capitals:ftjob-1"]


def test_deploy_defaults_to_the_last_checkpoint_and_waits(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("relay_cli.commands.deployments.time.sleep", lambda _: None)
    states = iter(
        [
            {"id": "dp-1", "name": "caps", "status": "Deploying"},
            {"id": "dp-1", "name": "caps", "status": "Deployed"},
        ]
    )
    api = FakeApi(
        {
            "GET /v1/projects/ms-1/training-jobs/tr-1/checkpoints": (
                200,
                [{"checkpoint": 5}, {"checkpoint": 10}],
            ),
            "POST /v1/projects/ms-1/deployments": (201, {"id": "dp-1", "name": "caps", "status": "Pending"}),
            "GET /v1/projects/ms-1/deployments/dp-1": lambda _: httpx.Response(200, json=next(states)),
        }
    )
    code, out, _ = relay(api, "deploy", "ms-1", "tr-1", "--name", "caps", "--wait", "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["status"] == "Deployed"
    assert api.bodies("POST /v1/projects/ms-1/deployments") == [
        {"training_job_id": "tr-1", "checkpoint": 10, "name": "caps"}
    ]


def test_readable_splits_line_errors() -> None:
    assert datasets.readable("Bad (1 line(s)): line 4: x") == "Bad (1 line(s)):\n  line 4: x"
    assert datasets.readable("Nothing to split") == "Nothing to split"
