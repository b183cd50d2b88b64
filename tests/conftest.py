"""Shared fixtures: the local stack (moto + emulators), the app in-process, and a live server."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from typing import Any

import pytest

LOOPBACK = ("127.0.0.1", "::1", "localhost")
# User properties named with this prefix (the infra tier's `report` fixture) are printed at the end.
BUILD_REPORT = "relay build: "


def _build_base_model_once() -> None:
    """Build the cached tiny-local base model here, one process at a time.

    Every stack seeds tiny-local into its bucket from one cache folder (local/base_models.py) and
    builds it there first if it is missing. Under pytest-xdist each worker starts a stack, so on a
    cold cache two builds would write the same folder at once. A lock file beside the folder makes
    the first worker build it and the others wait; their stacks then only upload it.
    """
    from local import base_models, training_env

    if not training_env.ready():  # the stack defers the build to the first training job
        return
    base_models.CACHE.mkdir(parents=True, exist_ok=True)
    with (base_models.CACHE / f"{base_models.LOCAL_MODEL}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        base_models._build(base_models.CACHE / base_models.LOCAL_MODEL)


@pytest.fixture(scope="session")
def local_stack() -> Iterator[object]:
    """moto's server and the emulators, with the endpoint variables pointing at them."""
    from local.stack import LocalStack

    _build_base_model_once()
    stack = LocalStack(admin_key="test-admin-key-" + "x" * 33).start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def admin_key(local_stack: object) -> str:
    return local_stack.admin_key  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def services(local_stack: object) -> object:
    from relay.backends import aws
    from relay.services.container import Services
    from relay.settings import Settings

    aws.reset_clients()
    return Services(Settings.from_env())


@pytest.fixture(scope="session")
def app(services: object) -> object:
    from relay.http.app import create_local_app

    return create_local_app(services)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def client(app: object) -> Iterator[object]:
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as test_client:  # type: ignore[arg-type]
        yield test_client


@pytest.fixture()
def auth(admin_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_key}"}


@pytest.fixture()
def bedrock_calls() -> Iterator[list[str]]:
    """The modelId of every bedrock-runtime call made meanwhile (in-process and live server)."""
    from relay.backends import aws

    seen: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(str(params.get("modelId")))

    events = aws.client("bedrock-runtime").meta.events
    events.register("provide-client-params.bedrock-runtime", record)
    try:
        yield seen
    finally:
        events.unregister("provide-client-params.bedrock-runtime", record)


@pytest.fixture(scope="session")
def live_server(app: object) -> Iterator[str]:
    """uvicorn serving the app on a free loopback port; yields the base URL ending in /v1."""
    from tests.servers import serving

    with serving(app, access_log=False) as port:
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture()
def openai_client(live_server: str, admin_key: str) -> object:
    import openai

    return openai.OpenAI(base_url=live_server, api_key=admin_key, max_retries=0, timeout=30)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The "relay build" section: lines the infra tests recorded as user properties. Read from the
    test reports, which pytest-xdist's workers hand back to the controller with their properties."""
    lines: dict[str, object] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if isinstance(key, str) and key.startswith(BUILD_REPORT):
                    lines[key.removeprefix(BUILD_REPORT)] = value
    if lines:
        terminalreporter.section("relay build")
        for key, value in lines.items():
            terminalreporter.write_line(f"{key}: {value}")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep pytest-xdist's `--dist loadgroup` grouping under pytest 9.2.

    In each worker xdist appends "@<group>" to the id of every test marked xdist_group, and its
    scheduler sends the tests sharing a suffix to one worker. It writes the legacy `item._nodeid`,
    which pytest 9.2's structured node ids ignore, so every test was scheduled on its own
    (pytest-dev/pytest-xdist#1386). This sets the id the way xdist means to; once xdist sets it
    itself, the suffix is there already and nothing changes.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        suffix = "@" + "_".join(sorted(names))
        if names and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
            item._id = NodeId.parse(item.nodeid + suffix)
