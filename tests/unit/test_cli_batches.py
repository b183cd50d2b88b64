"""`relay batch …` against a fake Batch API on the openai SDK's HTTP stack (no network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from relay_cli import batch_wait
from relay_cli.main import run

pytestmark = pytest.mark.unit

BASE = "http://relay.test/v1"
LINES = [
    {"custom_id": f"r{n}", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m"}}
    for n in range(3)
]


class FakeBatches:
    """Files and batches kept in memory; each retrieve of a batch moves it one step along `script`."""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = script
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.steps: dict[str, int] = {}
        self.created: list[dict[str, Any]] = []
        self.uploads: list[bytes] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path, method = request.url.path, request.method
        if method == "POST" and path == "/v1/files":
            body = request.read()
            self.uploads.append(body)
            file_id = f"file-{len(self.files)}"
            self.files[file_id] = body
            return httpx2.Response(200, json=self._file(file_id, "batch"))
        if method == "POST" and path == "/v1/batches":
            args = json.loads(request.read())
            self.created.append(args)
            if args["input_file_id"] not in self.files:
                return self._error(404, f"No such File object: {args['input_file_id']}", "object_not_found")
            batch_id = f"batch_{len(self.batches)}"
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": args["endpoint"],
                "input_file_id": args["input_file_id"],
                "completion_window": args["completion_window"],
                "metadata": args.get("metadata"),
                "created_at": 1_700_000_000,
                "status": "validating",
                "request_counts": {"completed": 0, "failed": 0, "total": 0},
            }
            self.steps[batch_id] = 0
            return httpx2.Response(200, json=self.batches[batch_id])
        if method == "GET" and path == "/v1/batches":
            return httpx2.Response(200, json={"object": "list", "data": list(self.batches.values())})
        parts = path.split("/")
        if path.startswith("/v1/batches/") and parts[3] in self.batches:
            batch = self.batches[parts[3]]
            if method == "POST" and path.endswith("/cancel"):
                batch.update(status="cancelling", cancelling_at=1_700_000_100)
            elif self.steps[parts[3]] < len(self.script):
                batch.update(self.script[self.steps[parts[3]]])
                self.steps[parts[3]] += 1
            return httpx2.Response(200, json=batch)
        if method == "GET" and path.endswith("/content") and parts[3] in self.files:
            return httpx2.Response(200, content=self.files[parts[3]])
        return self._error(404, f"No such object: {path}", "object_not_found")

    def add_file(self, file_id: str, lines: list[dict[str, Any]]) -> None:
        self.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()

    @staticmethod
    def _file(file_id: str, purpose: str) -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": 1,
            "created_at": 1,
            "filename": "b.jsonl",
            "purpose": purpose,
            "status": "processed",
        }

    @staticmethod
    def _error(status: int, message: str, code: str) -> httpx2.Response:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
        return httpx2.Response(status, json=body)


def relay(fake: FakeBatches, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    client = httpx2.Client(transport=httpx2.MockTransport(fake))
    obj = {
        "openai_http_client": client,
        "env": {"OPENAI_BASE_URL": BASE, "OPENAI_API_KEY": "k"},
        "cwd": Path("/"),
    }
    with pytest.raises(SystemExit) as exit_info:
        run(list(args), obj=obj)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_wait, "POLL_SECONDS", 0.0)


@pytest.fixture
def batch_file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in LINES), encoding="utf-8")
    return path


def running(completed: int, failed: int = 0) -> dict[str, Any]:
    return {"status": "in_progress", "request_counts": {"completed": completed, "failed": failed, "total": 3}}


def test_submit_uploads_creates_and_prints_the_batch(
    batch_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeBatches([])
    args = ["batch", "submit", str(batch_file), "--endpoint", "/v1/chat/completions"]
    code, out, err = relay(fake, *args, "--metadata", "run=nightly", "--metadata", "team=a=b", capsys=capsys)
    assert code == 0, err
    assert batch_file.read_bytes() in fake.uploads[0] and b'name="purpose"\r\n\r\nbatch' in fake.uploads[0]
    assert fake.created == [
        {
            "input_file_id": "file-0",
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "metadata": {"run": "nightly", "team": "a=b"},
        }
    ]
    assert "Batch batch_0" in out and "validating" in out and "Uploaded requests.jsonl as file-0" in err


def test_submit_wait_follows_the_counts_to_completion(
    batch_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = {
        "status": "completed",
        "request_counts": {"completed": 2, "failed": 1, "total": 3},
        "output_file_id": "file-out",
        "error_file_id": "file-err",
    }
    fake = FakeBatches([running(0), running(1), running(2, 1), {"status": "finalizing"}, done])
    args = ["batch", "submit", str(batch_file), "--endpoint", "/v1/chat/completions", "--wait"]
    code, out, err = relay(fake, *args, capsys=capsys)
    assert code == 0, err
    progress = [line for line in err.splitlines() if line.startswith("batch_0: ")]
    assert progress == [
        "batch_0: validating 0/0 requests (0 failed)",
        "batch_0: in_progress 0/3 requests (0 failed)",
        "batch_0: in_progress 1/3 requests (0 failed)",
        "batch_0: in_progress 3/3 requests (1 failed)",
        "batch_0: finalizing 3/3 requests (1 failed)",
        "batch_0: completed 3/3 requests (1 failed)",
    ]
    assert "Batch batch_0 completed: 2 completed, 1 failed of 3 requests" in out
    assert "Output file: file-out" in out and "Error file:  file-err" in out


def test_submit_wait_json_is_the_final_batch(batch_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = {"status": "completed", "request_counts": {"completed": 3, "failed": 0, "total": 3}}
    fake = FakeBatches([running(1), done])
    args = ["batch", "submit", str(batch_file), "--endpoint", "/v1/chat/completions", "--wait", "--json"]
    code, out, _ = relay(fake, *args, capsys=capsys)
    batch = json.loads(out)
    assert code == 0 and batch["status"] == "completed" and batch["request_counts"]["completed"] == 3


def test_a_failed_batch_prints_its_line_errors_and_exits_1(
    batch_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = {
        "status": "failed",
        "failed_at": 1_700_000_010,
        "errors": {
            "object": "list",
            "data": [{"line": 2, "code": "invalid_json_line", "message": "not JSON", "param": None}],
        },
    }
    fake = FakeBatches([failed])
    args = ["batch", "submit", str(batch_file), "--endpoint", "/v1/chat/completions", "--wait"]
    code, out, _ = relay(fake, *args, capsys=capsys)
    assert code == 1
    assert "Batch batch_0 failed: 0 completed, 0 failed of 0 requests" in out
    assert "line 2: invalid_json_line: not JSON" in out and "Output file: -" in out
    code, out, _ = relay(fake, "batch", "show", "batch_0", capsys=capsys)
    assert code == 0 and "Errors in the input file" in out and "invalid_json_line" in out


def test_submit_refuses_a_missing_file_and_bad_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeBatches([])
    missing = tmp_path / "nope.jsonl"
    code, _, err = relay(fake, "batch", "submit", str(missing), "--endpoint", "/v1/embeddings", capsys=capsys)
    assert code == 1 and f"No such file: {missing}" in err and "Traceback" not in err
    missing.write_text("{}\n", encoding="utf-8")
    args = ["batch", "submit", str(missing), "--endpoint", "/v1/embeddings", "--metadata", "novalue"]
    code, _, err = relay(fake, *args, capsys=capsys)
    assert code == 1 and "--metadata 'novalue': expected KEY=VALUE" in err
    assert fake.uploads == []  # refused before anything was sent


def test_api_errors_print_the_servers_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = relay(FakeBatches([]), "batch", "show", "batch_404", capsys=capsys)
    assert code == 1 and "No such object: /v1/batches/batch_404 (HTTP 404)" in err and "Traceback" not in err
    code, _, err = relay(FakeBatches([]), "batch", "results", "batch_404", capsys=capsys)
    assert code == 1 and "(HTTP 404)" in err


def test_results_prints_downloads_and_picks_the_error_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = {"status": "completed", "output_file_id": "file-out", "error_file_id": "file-err"}
    fake = FakeBatches([done])
    fake.batches["batch_7"] = {"id": "batch_7", "status": "validating", "request_counts": {}}
    fake.steps["batch_7"] = 0
    fake.add_file("file-out", [{"custom_id": "r0", "response": {"status_code": 200}}])
    fake.add_file("file-err", [{"custom_id": "r1", "response": {"status_code": 404}}])
    code, out, _ = relay(fake, "batch", "results", "batch_7", capsys=capsys)
    assert code == 0 and json.loads(out) == {"custom_id": "r0", "response": {"status_code": 200}}
    code, out, _ = relay(fake, "batch", "results", "batch_7", "--errors", "--json", capsys=capsys)
    assert code == 0 and [r["custom_id"] for r in json.loads(out)] == ["r1"]
    target = tmp_path / "out.jsonl"
    code, out, _ = relay(fake, "batch", "results", "batch_7", "-o", str(target), "--json", capsys=capsys)
    assert code == 0 and target.read_bytes() == fake.files["file-out"]
    assert json.loads(out) == {"batch_id": "batch_7", "file_id": "file-out", "path": str(target), "lines": 1}


def test_results_before_the_batch_ends_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeBatches([running(1)])
    fake.batches["batch_1"] = {"id": "batch_1", "status": "validating", "request_counts": {}}
    fake.steps["batch_1"] = 0
    code, _, err = relay(fake, "batch", "results", "batch_1", capsys=capsys)
    assert code == 1 and "Batch batch_1 (in_progress) has no output file yet" in err


def test_list_and_cancel(batch_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeBatches([])
    relay(fake, "batch", "submit", str(batch_file), "--endpoint", "/v1/chat/completions", capsys=capsys)
    code, out, _ = relay(fake, "batch", "list", "--json", capsys=capsys)
    assert code == 0 and [b["id"] for b in json.loads(out)] == ["batch_0"]
    code, out, _ = relay(fake, "batch", "list", capsys=capsys)
    assert code == 0 and "batch_0" in out and "validating" in out and "0/0" in out
    code, out, _ = relay(fake, "batch", "cancel", "batch_0", capsys=capsys)
    assert code == 0 and "Batch batch_0 is cancelling." in out
    code, out, _ = relay(fake, "batch", "cancel", "batch_0", "--json", capsys=capsys)
    assert json.loads(out)["cancelling_at"] == 1_700_000_100


def test_on_a_terminal_the_bar_counts_done_over_total(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    screen = io.StringIO()
    monkeypatch.setattr(batch_wait, "err_console", Console(file=screen, force_terminal=True, width=120))
    states = iter([running(1), running(2, 1), {**running(2, 1), "status": "completed"}])
    first = {"id": "batch_9", "status": "validating", "request_counts": {"total": 0}}
    last = batch_wait.follow(lambda: {"id": "batch_9", **next(states)}, first)
    assert last["status"] == "completed"
    drawn = screen.getvalue()
    assert "batch_9" in drawn and "3/3" in drawn and "1 failed" in drawn
