"""The local stack's state file: what scripts, the `relay` CLI and the AWS CLI need to reach it.

Written when `make local` is serving (mode 0600: it holds the admin key), removed on exit.
Its `pid` lets a reader tell a live stack from a file left behind by a killed one.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from local.resources import REPO, _Resolver
from local.template import load_template

STATE_FILE_ENV = "RELAY_LOCAL_STATE_FILE"
DEFAULT_STATE_FILE = REPO / ".relay-local.json"
# Services the emulators serve (AWS_ENDPOINT_URL_<NAME>), beside SageMaker's control API.
EXTRA_ENDPOINTS = ("SAGEMAKER",)


def state_file_path() -> Path:
    return Path(os.environ.get(STATE_FILE_ENV) or DEFAULT_STATE_FILE)


def boto3_name(service: str) -> str:
    """`BEDROCK_RUNTIME` (the endpoint variable's suffix) -> `bedrock-runtime` (boto3's name)."""
    return service.lower().replace("_", "-")


def local_outputs(names: dict[str, str], region: str, base_url: str) -> dict[str, str]:
    """template.yaml's outputs with local values, for those the local stack has resources for."""
    template = load_template()
    resolver = _Resolver(template, names, region)
    outputs: dict[str, str] = {}
    for key, spec in template.get("Outputs", {}).items():
        try:
            value = resolver.resolve(spec.get("Value"))
        except KeyError:  # refers to something only AWS creates (the REST API, aliases, roles)
            continue
        if isinstance(value, str) and value:
            outputs[key] = value
    outputs["BaseUrl"] = base_url
    # These two name the secret `<stack>-admin-api-key`, which only a deployed stack has; the
    # local one lives in moto under its own ARN, and there is no console for it.
    outputs.pop("AdminKeySecretConsoleUrl", None)
    if "AdminKeySecretArn" in outputs:
        outputs["AdminKeyCommand"] = (
            f"aws --endpoint-url {os.environ.get('AWS_ENDPOINT_URL', '')} secretsmanager get-secret-value "
            f"--region {region} --secret-id {outputs['AdminKeySecretArn']} --query SecretString --output text"
        )
    return outputs


def build_state(
    base_url: str, admin_key: str, services: tuple[str, ...], names: dict[str, str], region: str
) -> dict[str, Any]:
    endpoints = {
        boto3_name(s): os.environ[f"AWS_ENDPOINT_URL_{s}"]
        for s in (*services, *EXTRA_ENDPOINTS)
        if os.environ.get(f"AWS_ENDPOINT_URL_{s}")
    }
    return {
        "base_url": base_url,
        "admin_key": admin_key,
        "aws_endpoint_url": os.environ.get("AWS_ENDPOINT_URL", ""),
        "region": region,
        "endpoints": endpoints,
        "outputs": local_outputs(names, region, base_url),
        "pid": os.getpid(),
    }


def write_state(path: Path, state: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(state, file, indent=2)
        file.write("\n")
    partial.replace(path)  # readers never see half a file


def remove_state(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
