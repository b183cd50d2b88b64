"""SnapStart hooks (relay.lifecycle): what `prime` leaves in the snapshot, and what `after_restore`
renews in each restored environment. On moto, with the network off (tests/unit/conftest.py)."""

from __future__ import annotations

import importlib
import os
import random
from collections.abc import Iterator
from typing import Any

import botocore.client
import botocore.loaders
import pytest
from moto import mock_aws

from relay import lifecycle
from relay.backends import aws
from relay.protocol.base import WireModel
from relay.services.container import Services
from relay.settings import Settings

pytestmark = pytest.mark.unit


@pytest.fixture()
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)  # the local stack's endpoints, when functional tests share the session
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.reset_clients()
    with mock_aws():
        yield Services(Settings(table_name="t", bucket_name="b", admin_secret_id="s"))
    aws.reset_clients()


def _wire_models(module: str) -> list[type[WireModel]]:
    found = vars(importlib.import_module(module)).values()
    return [v for v in found if isinstance(v, type) and issubclass(v, WireModel) and v.__module__ == module]


def test_prime_builds_clients_services_and_validators_then_closes_connections(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []

    def close(client: Any) -> None:
        closed.append(client.meta.service_model.service_name)

    monkeypatch.setattr(botocore.client.BaseClient, "close", close)
    lifecycle.prime(services)  # any socket connect would fail the test

    assert set(lifecycle.DATA_PLANE_CLIENTS) <= set(aws.built_clients())
    assert sorted(closed) == aws.built_clients()  # every pooled connection closed before the snapshot
    assert set(lifecycle.DATA_PLANE_SERVICES) <= set(services.built())
    for module in lifecycle.DATA_PLANE_PROTOCOL:
        assert all(model.__pydantic_complete__ for model in _wire_models(module)), module
    assert lifecycle.build_models(lifecycle.DATA_PLANE_PROTOCOL) == 0  # nothing left to build


def test_after_restore_rebuilds_services_and_clients_with_fresh_credentials(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDATPUBLISH")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "publish-secret")
    lifecycle.prime(services)
    old_client = aws.client("bedrock-runtime")
    old_backend, old_auth, old_limiter = services.bedrock_chat, services.authenticator, services.limiter
    assert old_client._request_signer._credentials.access_key == "AKIDATPUBLISH"

    # A restored environment gets its own credentials.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDAFTERRESTORE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "restore-secret")
    lifecycle.after_restore(services)

    assert services.built() == []
    assert aws.built_clients() == []
    new_client = aws.client("bedrock-runtime")
    assert new_client is not old_client
    assert new_client._request_signer._credentials.access_key == "AKIDAFTERRESTORE"
    # Members are rebuilt on next use, on the new clients, with empty caches and no leases.
    assert services.bedrock_chat is not old_backend
    assert services.bedrock_chat._client is new_client
    assert services.authenticator is not old_auth
    assert services.authenticator.cache_size() == 0
    assert services.limiter is not old_limiter


def test_after_restore_reseeds_random_in_each_restored_copy(services: Services) -> None:
    snapshot = random.getstate()  # what every environment restored from one snapshot starts with
    copies = []
    for _ in range(2):
        random.setstate(snapshot)
        lifecycle.after_restore(services)
        copies.append([random.random() for _ in range(4)])
    assert copies[0] != copies[1]
    random.setstate(snapshot)
    without = [random.random() for _ in range(4)]
    random.setstate(snapshot)
    assert without == [random.random() for _ in range(4)]  # the same draws, had it not re-seeded


def test_renewed_clients_reuse_the_parsed_service_models(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.client("dynamodb")
    aws.renew_clients()
    reads: list[str] = []
    load_file = botocore.loaders.JSONFileLoader.load_file

    def counting(loader: Any, file_path: str) -> Any:
        reads.append(file_path)
        return load_file(loader, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", counting)
    renewed = aws.client("dynamodb")
    assert renewed.meta.service_model.service_name == "dynamodb"
    assert reads == []
    aws.reset_clients()  # tests' reset forgets the models too
    aws.client("dynamodb")
    assert reads


def test_forget_drops_only_what_was_built(services: Services) -> None:
    assert services.built() == []
    limiter = services.limiter
    assert services.built() == ["limit_counters", "limiter"]
    assert services.forget() == ["limit_counters", "limiter"]
    assert services.built() == []
    assert services.limiter is not limiter
