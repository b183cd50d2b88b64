"""A cold start on which Bedrock cannot list its models: SageMaker models still answer.

The app gets a real boto3 `bedrock` client pointed at a closed loopback port, so
ListFoundationModels fails the way an unreachable endpoint does; everything else is the
local stack as usual.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from fastapi.testclient import TestClient

from relay.backends.bedrock.catalog import BedrockCatalog
from relay.http.app import create_local_app
from relay.services.container import Services
from tests.functional.sagemaker_models import register_all
from tests.servers import refusing_port

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def registered(client: Any, admin_key: str) -> None:
    """The emulated SageMaker models, and emu-bare: a registry id without a name tag."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    register_all(client, headers)
    body = {
        "id": "emu-bare",
        "endpoint_name": "relay-emu-openai",
        "flavour": "openai",
        "check_endpoint": False,
    }
    assert (
        client.post("/v1/admin/models", json={**body, "overwrite": True}, headers=headers).status_code == 201
    )


@pytest.fixture()
def bedrock_down(services: Any, registered: None) -> Iterator[tuple[TestClient, list[int]]]:
    """An app cold started for each test, its Bedrock catalogue unlisted; `listings` counts its tries."""
    with refusing_port() as closed:
        unreachable = boto3.client(
            "bedrock",
            endpoint_url=f"http://127.0.0.1:{closed}",
            config=Config(connect_timeout=1, retries={"mode": "standard", "max_attempts": 1}),
        )
        listings: list[int] = []

        def factory() -> Any:
            listings.append(1)
            return unreachable

        cold = Services(services.settings)
        cold.__dict__["bedrock_catalog"] = BedrockCatalog(factory, ttl=300)  # before anything reads it
        with TestClient(create_local_app(cold), raise_server_exceptions=False) as test_client:
            yield test_client, listings


def _chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "cold start"}], **extra}


def test_chat_to_a_name_tag_model_answers_without_the_catalogue(
    bedrock_down: tuple[TestClient, list[int]], auth: dict[str, str]
) -> None:
    app, listings = bedrock_down
    answer = app.post("/v1/chat/completions", json=_chat("emu-chat/test"), headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "You said — cold start"
    streamed = app.post("/v1/chat/completions", json=_chat("emu-tgi/test", stream=True), headers=auth)
    assert streamed.status_code == 200
    frames = [line[6:] for line in streamed.text.split("\n") if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    text = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in map(json.loads, frames[:-1]) if c["choices"]
    )
    assert text == "You said — cold start"
    assert listings == []  # registry ids never wait on Bedrock


def test_a_bare_name_falls_back_to_the_registry_and_bedrock_models_get_503(
    bedrock_down: tuple[TestClient, list[int]], auth: dict[str, str]
) -> None:
    app, listings = bedrock_down
    bare = app.post("/v1/chat/completions", json=_chat("emu-bare"), headers=auth)
    assert bare.status_code == 200, bare.text
    assert bare.json()["model"] == "emu-bare"
    bedrock = app.post("/v1/chat/completions", json=_chat("amazon.nova-lite-v1:0"), headers=auth)
    assert bedrock.status_code == 503 and bedrock.headers.get("retry-after")
    assert listings  # the catalogue was tried for bare names
    embed = app.post("/v1/embeddings", json={"model": "emu-embed/test", "input": "x"}, headers=auth)
    assert embed.status_code == 200, embed.text
    listed = app.get("/v1/models/emu-chat/test", headers=auth)
    assert listed.status_code == 200 and listed.json()["owned_by"] == "sagemaker"
