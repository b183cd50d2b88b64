"""The processes the bench starts on loopback: the stack, Relay and the floor under uvicorn,
LiteLLM's proxy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from local.stack import free_port

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work"
LITELLM_VENV = WORK / "litellm-venv"
# The newest release whose dependencies the package index here can satisfy (1.106.3 and
# later need a certifi newer than it carries). Bump with care: the figures compare releases.
LITELLM_REQUIREMENT = "litellm[proxy]==1.106.2"
MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
HOST = "127.0.0.1"


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str = ""
    api_key: str = ""
    log: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def peak_rss_mb(self) -> float | None:
        """VmHWM of the server process (peak resident set), in MiB."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{url} exited with {process.returncode} before it was ready\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} was not ready within {timeout:.0f} s")


def start_stack(delay_ms: int, chunk_delay_ms: int) -> tuple[Server, dict[str, object]]:
    """moto plus the emulators (ConverseStream traced) in their own process."""
    WORK.mkdir(parents=True, exist_ok=True)
    info_path = WORK / "stack.json"
    info_path.unlink(missing_ok=True)
    log = WORK / "stack.log"
    env = dict(os.environ)
    env["RELAY_EMULATOR_DELAY_MS"] = str(delay_ms)
    env["RELAY_EMULATOR_CHUNK_DELAY_MS"] = str(chunk_delay_ms)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.stack", "--info", str(info_path)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server("stack", process, log=log)
    deadline = time.monotonic() + 60
    while not info_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the bench stack did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    info = json.loads(info_path.read_text())
    server.url = str(info["emulator_url"])
    server.api_key = str(info["admin_key"])
    return server, info


def stack_env(stack_info: dict[str, object]) -> dict[str, str]:
    """The variables the stack set for its clients (AWS_ENDPOINT_URL*, keys, region, table names)."""
    env = stack_info["env"]
    assert isinstance(env, dict)
    return {str(k): str(v) for k, v in env.items()}


def _start_uvicorn(name: str, app_dir: Path, app: str, env: dict[str, str], api_key: str) -> Server:
    """`app` under uvicorn as Lambda runs the data plane (functions/data_plane/run.sh), one worker."""
    port = free_port(HOST)
    log = WORK / f"{name}.log"
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir)]
    command += ["--host", HOST, "--port", str(port), "--workers", "1", "--no-access-log"]
    command += ["--timeout-keep-alive", "75", "--log-level", "warning", app]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    server = Server(name, process, url=f"{url}/v1", api_key=api_key, log=log)
    try:
        _wait_http(f"{url}/health", process, 60, log)
    except RuntimeError:
        server.stop()
        raise
    return server


def start_relay(stack_info: dict[str, object]) -> Server:
    """The data-plane app, with the layer on its path and the stack's environment."""
    env = dict(os.environ)
    env.update(stack_env(stack_info))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "layers" / "relay"), env.get("PYTHONPATH", "")])
    app_dir = REPO / "functions" / "data_plane"
    return _start_uvicorn("relay", app_dir, "main:app", env, str(stack_info["admin_key"]))


def start_floor(stack_info: dict[str, object]) -> Server:
    """bench/floor.py under the same command, with the stack's environment (its AWS_ENDPOINT_URL_*)
    and without the layer on its path: it checks no key, so any key will do."""
    env = dict(os.environ)
    env.update(stack_env(stack_info))
    return _start_uvicorn("floor", REPO / "bench", "floor:app", env, "sk-bench-floor")


def litellm_installed() -> bool:
    marker = LITELLM_VENV / ".installed"
    return marker.exists() and marker.read_text().strip() == LITELLM_REQUIREMENT


def install_litellm() -> None:
    """LiteLLM's proxy in its own virtual environment (its pins conflict with Relay's)."""
    print(f"installing {LITELLM_REQUIREMENT} into {LITELLM_VENV.relative_to(REPO)} (first run only)")
    if not (LITELLM_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
    pip = [str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, LITELLM_REQUIREMENT], check=True)
    (LITELLM_VENV / ".installed").write_text(LITELLM_REQUIREMENT + "\n")


def litellm_version() -> str:
    result = subprocess.run(
        [
            str(LITELLM_VENV / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('litellm'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "?"


def litellm_config(emulator_url: str, master_key: str) -> str:
    """The proxy's YAML: the emulated model through LiteLLM's Converse route, no database."""
    # JSON is YAML; writing it this way needs no YAML library in the bench.
    config = {
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"bedrock/converse/{MODEL}",
                    "aws_access_key_id": "testing",
                    "aws_secret_access_key": "testing",
                    "aws_region_name": "us-east-1",
                    "aws_bedrock_runtime_endpoint": emulator_url,
                },
            }
        ],
        "general_settings": {"master_key": master_key},
        "litellm_settings": {"telemetry": False},
    }
    return json.dumps(config, indent=2) + "\n"


def start_litellm(emulator_url: str) -> Server:
    port = free_port(HOST)
    master_key = "sk-bench-" + os.urandom(8).hex()
    config = WORK / "litellm-config.yaml"
    config.write_text(litellm_config(emulator_url, master_key))
    log = WORK / "litellm.log"
    env = dict(os.environ)
    # No network here: use the cost map shipped in the package instead of fetching it.
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"})
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    for key in [k for k in env if k.startswith("AWS_ENDPOINT_URL") or k == "DATABASE_URL"]:
        env.pop(key)
    command = [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config)]
    command += ["--host", HOST, "--port", str(port), "--num_workers", "1"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=WORK, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    server = Server("litellm", process, url=f"{url}/v1", api_key=master_key, log=log)
    try:
        _wait_http(f"{url}/health/liveliness", process, 180, log)
    except RuntimeError:
        server.stop()
        raise
    server.extra["version"] = litellm_version()
    return server
