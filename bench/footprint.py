"""Cold import time of the two Lambda entry points (and the bench's floor), and the size of the
built package."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from local.resources import function_environment
from local.template import load_template

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work"
SAM = REPO / ".venv-sam" / "bin" / "sam"
SAM_BUILD = WORK / "sam-build"
# (label, function folder, module Lambda imports first); the floor's is boto3 and one client.
ENTRY_POINTS = (
    ("data plane", "functions/data_plane", "main"),
    ("control plane", "functions/control_plane", "handler"),
    ("floor", "bench", "floor"),
)
BUILT = {
    "layer": "RelayLayer/python",
    "data plane": "DataPlaneFunction",
    "control plane": "ControlPlaneFunction",
}

# Timed inside the fresh interpreter, so interpreter start-up (which Lambda pays for any
# function) is left out and only the app's own imports and module-level work count.
_IMPORT_PROBE = """
import sys, time
sys.path[:0] = [{layer!r}, {function!r}]
started = time.perf_counter()
import {module}
print(time.perf_counter() - started)
"""

# What the first chat request does once, after the import, less its network calls: its route's
# module and wire models, the services it touches, boto3 and the two clients it calls, and one
# request and answer through the translators (relay.lifecycle.warm_chat). Without SnapStart a
# cold start pays it on its first chat request; with it, `prime` pays it before the snapshot.
_FIRST_CHAT_PROBE = """
import sys, time
sys.path[:0] = [{layer!r}, {function!r}]
started = time.perf_counter()
import main
imported = time.perf_counter()
from relay import lifecycle
from relay.backends import aws
from relay.http.routing import Endpoint
for route in main.app.routes:
    if isinstance(route, Endpoint) and route.path == "/v1/chat/completions":
        route.load()
for name in ("authenticator", "limiter", "usage", "chat"):
    getattr(main.app.state.services, name)
for service in ("bedrock-runtime", "dynamodb"):
    aws.client(service)
lifecycle.warm_chat()
print(imported - started, time.perf_counter() - imported)
"""


# The control plane's first request, less the network: `GET /v1/projects` without a key (refused
# with a 401 before any AWS call) through the Lambda handler, which builds the X-Ray tracer and the
# projects router's app (FastAPI and the router's models; relay.http.app.ControlPlane).
_FIRST_CONTROL_PROBE = """
import json, sys, time
from types import SimpleNamespace
sys.path[:0] = [{layer!r}, {function!r}]
event = json.loads(open({event!r}).read())
for headers in (event["headers"], event["multiValueHeaders"]):
    headers.pop("Authorization", None)
context = SimpleNamespace(function_name="bench", memory_limit_in_mb=512, aws_request_id="bench-1",
                          invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench")
started = time.perf_counter()
import handler
imported = time.perf_counter()
answer = handler.lambda_handler(event, context)
assert answer["statusCode"] == 401, answer
print(imported - started, time.perf_counter() - imported)
"""


def function_env() -> dict[str, str]:
    """The environment template.yaml gives the functions, with placeholder resource names."""
    template = load_template()
    names = {logical_id: f"bench-{logical_id}".lower() for logical_id in template.get("Resources", {})}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RELAY_", "POWERTOOLS_"))}
    # The unmeasured first import writes the bytecode cache, as the layer ships relay's bytecode
    # (layers/relay/Makefile): a shell that sets PYTHONDONTWRITEBYTECODE would otherwise time
    # compiling every module edited since its .pyc was last written.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(function_environment(template, names, "us-east-1"))
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    env["AWS_LAMBDA_FUNCTION_NAME"] = "bench"  # Powertools behaves as it does in Lambda
    return env


def cold_imports(runs: int, warm: bool = True) -> dict[str, dict[str, Any]]:
    """Median import time of each entry point over `runs` fresh processes (alternating)."""
    env = function_env()
    layer = str(REPO / "layers" / "relay")
    times: dict[str, list[float]] = {label: [] for label, _, _ in ENTRY_POINTS}
    for _label, folder, module in ENTRY_POINTS if warm else ():  # an unmeasured run fills the bytecode cache
        code = _IMPORT_PROBE.format(layer=layer, function=str(REPO / folder), module=module)
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    for _ in range(runs):
        for label, folder, module in ENTRY_POINTS:
            code = _IMPORT_PROBE.format(layer=layer, function=str(REPO / folder), module=module)
            result = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise RuntimeError(f"importing the {label} failed:\n{result.stderr[-2000:]}")
            times[label].append(float(result.stdout.strip().splitlines()[-1]) * 1000)
    return {
        label: {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms), "runs": ms}
        for label, ms in times.items()
    }


def first_chat(runs: int) -> dict[str, Any]:
    """Median of `runs` fresh processes: the data plane's import, then its first chat request's
    one-time work (less the network), and the two together."""
    code = _FIRST_CHAT_PROBE.format(
        layer=str(REPO / "layers" / "relay"), function=str(REPO / "functions" / "data_plane")
    )
    return _first_request(code, runs, "first-chat")


def first_control(runs: int) -> dict[str, Any]:
    """The same for the control plane: its import, then a first `GET /v1/projects` (refused for
    want of a key, so no network) through its Lambda handler."""
    code = _FIRST_CONTROL_PROBE.format(
        layer=str(REPO / "layers" / "relay"),
        function=str(REPO / "functions" / "control_plane"),
        event=str(REPO / "events" / "projects-list.json"),
    )
    return _first_request(code, runs, "first-control")


def _first_request(code: str, runs: int, name: str) -> dict[str, Any]:
    imports, first = [], []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", code], env=function_env(), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"the {name} probe failed:\n{result.stderr[-2000:]}")
        imported, once = (float(v) * 1000 for v in result.stdout.strip().splitlines()[-1].split())
        imports.append(imported)
        first.append(once)
    return {
        "import_ms": statistics.median(imports),
        "first_ms": statistics.median(first),
        "total_ms": statistics.median(a + b for a, b in zip(imports, first, strict=True)),
        "runs": runs,
    }


def slowest_imports(folder: str, module: str, top: int = 6) -> list[tuple[str, float]]:
    """Packages by the import time of their own modules (`-X importtime`, self times summed)."""
    code = _IMPORT_PROBE.format(
        layer=str(REPO / "layers" / "relay"), function=str(REPO / folder), module=module
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=function_env(), capture_output=True, text=True
    )
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        package = parts[2].strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(parts[0]) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _sam_env() -> dict[str, str]:
    env = dict(os.environ)
    pyenv = shutil.which("pyenv")
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip() if pyenv else ""
    root = root or os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    env["PATH"] = f"{Path(root) / 'versions' / '3.13.0' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update({"SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"})
    return env


def package_sizes(build: bool) -> dict[str, Any]:
    """Unzipped sizes of the layer and functions from a `sam build` (run here or reused)."""
    note = ""
    if build:
        if not os.access(SAM, os.X_OK):
            note = f"sam not found at {SAM.relative_to(REPO)} (make .venv-sam/.installed)"
        else:
            command = [str(SAM), "build", "--template-file", "template.yaml", "--build-dir", str(SAM_BUILD)]
            command += ["--cache-dir", str(WORK / "sam-cache"), "--cached", "--parallel"]
            started = time.monotonic()
            result = subprocess.run(command, cwd=REPO, env=_sam_env(), capture_output=True, text=True)
            if result.returncode != 0:
                note = "sam build failed: " + (result.stderr or result.stdout)[-400:].strip()
            else:
                note = f"sam build into bench/.work/sam-build ({time.monotonic() - started:.0f} s)"
    candidates = [SAM_BUILD, REPO / ".aws-sam" / "build"]
    found = next((c for c in candidates if (c / BUILT["layer"]).is_dir()), None)
    if found is None:
        return {"note": note or "no sam build found and this mode does not build (run `make bench`)"}
    if not build or not note.startswith("sam build into"):
        age = (time.time() - (found / BUILT["layer"]).stat().st_mtime) / 60
        note = (note + "; " if note else "") + f"reused {found.relative_to(REPO)} (built {age:.0f} min ago)"
    sizes = {
        label: _tree_size(found / rel) / 1024 / 1024 for label, rel in BUILT.items() if (found / rel).is_dir()
    }
    return {"note": note, "mb": sizes}
