"""What the DataPlane's cold start imports and builds: only what every inference request needs.

`import main` (functions/data_plane) runs in a fresh interpreter, as the Lambda Web Adapter's
uvicorn does; `bench/footprint.py` times it. boto3 comes with the first client, the wire models'
validators with their first use (or `relay.lifecycle.prime`, before a SnapStart snapshot).
The ControlPlane's `import handler` is probed the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
sys.path[:0] = [{layer!r}, {function!r}]
import {module}
modules = sorted(sys.modules)
from relay.protocol.base import WireModel

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

print(json.dumps({{
    "modules": modules,
    "built": sorted(m.__name__ for m in subclasses(WireModel) if m.__pydantic_complete__),
}}))
"""


def _cold_import(function: str = "data_plane", module: str = "main") -> dict[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RELAY_"))}
    env.update(
        RELAY_TABLE_NAME="t",
        RELAY_BUCKET_NAME="b",
        RELAY_ADMIN_SECRET_ID="s",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_LAMBDA_FUNCTION_NAME="cold-import-test",
    )
    code = _PROBE.format(
        layer=str(REPO / "layers" / "relay"), function=str(REPO / "functions" / function), module=module
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_data_plane_cold_import_leaves_out_what_a_request_builds_later() -> None:
    found = _cold_import()
    packages = {name.split(".")[0] for name in found["modules"]}
    # boto3's resource layer and s3transfer, FastAPI (and the OpenTelemetry it pulls in), X-Ray.
    assert not packages & {"boto3", "s3transfer", "fastapi", "opentelemetry", "aws_xray_sdk"}
    # pydantic comes with the first route's wire models; botocore's exceptions, urllib3 under
    # them, with the first failed AWS call.
    assert not packages & {"pydantic", "pydantic_core", "urllib3"}
    # The control plane's and the batch workers' code.
    control = ("relay.services.training", "relay.services.datasets", "relay.services.deployments")
    assert not [name for name in found["modules"] if name.startswith((*control, "relay.pipeline"))]
    # Validators and serializers are built on first use, not at import.
    assert found["built"] == []


def test_data_plane_cold_import_loads_no_route_module_nor_botocore() -> None:
    found = _cold_import()
    modules = set(found["modules"])
    # Each route's module and wire models come with its first request (relay.http.app names
    # them); health is the readiness check's.
    routes = {m for m in modules if m.startswith(("relay.http.routes.", "relay.protocol", "relay.translate"))}
    assert routes == {"relay.http.routes.health"}
    # botocore's exceptions (and urllib3 under them) are imported by the first failed AWS call.
    assert not {"botocore.exceptions", "urllib3"} & modules


def test_control_plane_cold_import_loads_no_router_nor_fastapi() -> None:
    # relay.http.app.ControlPlane builds each router's FastAPI app on its first request.
    modules = set(_cold_import("control_plane", "handler")["modules"])
    packages = {name.split(".")[0] for name in modules}
    assert not packages & {"fastapi", "pydantic", "boto3", "opentelemetry", "aws_xray_sdk"}
    assert {m for m in modules if m.startswith("relay.http.routes.")} == {"relay.http.routes.health"}
