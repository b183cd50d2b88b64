"""Which Relay the CLI talks to, and with which key.

Order: `--base-url`/`--api-key`, then `--stack-name` when given on the command line (an explicit
choice must beat an `OPENAI_BASE_URL` left exported by `make local`), then `OPENAI_BASE_URL`/
`OPENAI_API_KEY`, then the state file of a running `make local`, then `RELAY_STACK_NAME`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relay_cli.output import CliError

STATE_FILE_ENV = "RELAY_LOCAL_STATE_FILE"
STATE_FILE_NAME = ".relay-local.json"


class TargetError(CliError):
    """No usable target: `relay` prints the message and exits 1."""


@dataclass(frozen=True)
class Target:
    base_url: str
    api_key: str | None
    source: str
    key_location: str
    console_url: str | None = None
    stack_name: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)


def normalize_base_url(url: str) -> str:
    """OpenAI's convention: the base URL ends in `/v1`. A bare host gets it appended."""
    url = url.strip().rstrip("/")
    _, _, rest = url.partition("://")
    if not rest:
        raise TargetError(f"Base URL {url!r} needs a scheme, e.g. http://127.0.0.1:8000/v1")
    if "/" not in rest:
        url += "/v1"
    return url


def state_file_path(env: Mapping[str, str], cwd: Path) -> Path | None:
    """`RELAY_LOCAL_STATE_FILE`, else `.relay-local.json` here or in a parent (the checkout)."""
    if env.get(STATE_FILE_ENV):
        return Path(env[STATE_FILE_ENV])
    for folder in (cwd, *cwd.parents):
        candidate = folder / STATE_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(path: Path) -> dict[str, Any] | None:
    """The state of a running `make local`; None when absent or left behind by a killed one."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise TargetError(f"Cannot read the local stack's state file {path}: {exc}") from None
    if not isinstance(state, dict) or not state.get("base_url"):
        raise TargetError(f"{path} is not a Relay local state file (no base_url)")
    pid = state.get("pid")
    if isinstance(pid, int) and not _process_alive(pid):
        return None
    return state


def from_stack(stack_name: str, api_key: str | None, session: Any = None) -> Target:
    """A deployed stack: CloudFormation outputs, the admin key from Secrets Manager."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency of the package
        raise TargetError("--stack-name needs boto3: pip install boto3") from None
    session = session or boto3.session.Session()
    try:
        stack = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        secret = outputs.get("AdminKeySecretArn", "")
        key = api_key
        if key is None and secret:
            key = session.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]
    except (BotoCoreError, ClientError) as exc:
        raise TargetError(f"Cannot read stack {stack_name}: {exc}") from None
    if "BaseUrl" not in outputs:
        raise TargetError(f"Stack {stack_name} has no BaseUrl output: is it a Relay stack?")
    return Target(
        base_url=normalize_base_url(outputs["BaseUrl"]),
        api_key=key,
        source=f"stack {stack_name}",
        key_location="--api-key" if api_key else f"Secrets Manager secret {secret}",
        console_url=outputs.get("AdminKeySecretConsoleUrl"),
        stack_name=stack_name,
        parameters=parameters,
        outputs=outputs,
    )


def resolve(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    stack_name: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    session: Any = None,
) -> Target:
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    if base_url:
        key = api_key or env.get("OPENAI_API_KEY") or None
        where = "--api-key" if api_key else "OPENAI_API_KEY" if key else "none given"
        return Target(normalize_base_url(base_url), key, "--base-url", where)
    if stack_name:
        return from_stack(stack_name, api_key, session)
    if env.get("OPENAI_BASE_URL"):
        key = api_key or env.get("OPENAI_API_KEY") or None
        where = "--api-key" if api_key else "OPENAI_API_KEY" if key else "none given"
        return Target(normalize_base_url(env["OPENAI_BASE_URL"]), key, "OPENAI_BASE_URL", where)
    path = state_file_path(env, cwd)
    state = read_state(path) if path else None
    if path and state:
        return Target(
            base_url=normalize_base_url(str(state["base_url"])),
            api_key=api_key or state.get("admin_key"),
            source=f"local stack ({path})",
            key_location="--api-key" if api_key else f"admin_key in {path}",
            outputs={str(k): str(v) for k, v in (state.get("outputs") or {}).items()},
        )
    if env.get("RELAY_STACK_NAME"):
        return from_stack(env["RELAY_STACK_NAME"], api_key, session)
    raise TargetError(
        "No Relay to talk to: pass --base-url and --api-key, set OPENAI_BASE_URL and OPENAI_API_KEY, "
        "run `make local` in the checkout, or pass --stack-name for a deployed stack"
    )
