"""Bedrock model listing: types, profile pagination, allow-list, TTL cache and stale fallback."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from relay.backends.bedrock.catalog import BedrockCatalog
from relay.errors import ServiceUnavailableError

pytestmark = pytest.mark.unit


def summary(model_id: str, output: str = "TEXT", types: tuple[str, ...] = ("ON_DEMAND",)) -> dict[str, Any]:
    return {
        "modelId": model_id,
        "modelName": model_id.upper(),
        "providerName": "Acme",
        "outputModalities": [output],
        "inferenceTypesSupported": list(types),
    }


class FakeBedrock:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    def list_foundation_models(self) -> dict[str, Any]:
        self.calls += 1
        if self.fail:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "List")
        return {
            "modelSummaries": [
                summary("anthropic.claude-x-v1:0", types=("INFERENCE_PROFILE",)),
                summary("amazon.titan-embed-text-v2:0", "EMBEDDING"),
                summary("cohere.rerank-v3-5:0"),
                summary("amazon.nova-canvas-v1:0", "IMAGE"),
            ]
        }

    def list_inference_profiles(self, **kwargs: Any) -> dict[str, Any]:
        pages = {
            None: {
                "inferenceProfileSummaries": [
                    {
                        "inferenceProfileId": "us.anthropic.claude-x-v1:0",
                        "inferenceProfileName": "US Claude X",
                        "models": [
                            {
                                "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-x-v1:0"
                            }
                        ],
                        "status": "ACTIVE",
                    }
                ],
                "nextToken": "p2",
            },
            "p2": {
                "inferenceProfileSummaries": [
                    {
                        "inferenceProfileId": "eu.anthropic.claude-x-v1:0",
                        "inferenceProfileName": "EU Claude X",
                        "models": [
                            {
                                "modelArn": "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-x-v1:0"
                            }
                        ],
                        "status": "ACTIVE",
                    }
                ]
            },
        }
        return pages[kwargs.get("nextToken")]


def test_lists_types_and_follows_pagination() -> None:
    fake = FakeBedrock()
    models = BedrockCatalog(lambda: fake, ttl=60).models()
    assert set(models) == {
        "amazon.titan-embed-text-v2:0",
        "cohere.rerank-v3-5:0",
        "us.anthropic.claude-x-v1:0",
        "eu.anthropic.claude-x-v1:0",
    }
    assert models["amazon.titan-embed-text-v2:0"].type == "embeddings"
    assert models["cohere.rerank-v3-5:0"].type == "rerank"
    assert models["eu.anthropic.claude-x-v1:0"].type == "chat"
    assert models["eu.anthropic.claude-x-v1:0"].provider == "Acme"


def test_allow_list_filters_ids() -> None:
    catalog = BedrockCatalog(FakeBedrock, ttl=60, allowed=("us.*", "amazon.*"))
    assert set(catalog.models()) == {"us.anthropic.claude-x-v1:0", "amazon.titan-embed-text-v2:0"}


def test_cache_ttl_and_stale_fallback() -> None:
    fake = FakeBedrock()
    now = [0.0]
    catalog = BedrockCatalog(lambda: fake, ttl=60, clock=lambda: now[0])
    first = catalog.models()
    catalog.models()
    assert fake.calls == 1
    now[0] = 61
    fake.fail = True
    assert catalog.models() == first  # stale list served while Bedrock fails
    assert fake.calls == 2


def test_no_cache_and_failure_is_503() -> None:
    fake = FakeBedrock()
    fake.fail = True
    with pytest.raises(ServiceUnavailableError):
        BedrockCatalog(lambda: fake, ttl=60).models()


def test_peek_answers_only_from_a_fresh_cache() -> None:
    fake = FakeBedrock()
    now = [0.0]
    catalog = BedrockCatalog(lambda: fake, ttl=60, clock=lambda: now[0])
    assert catalog.peek("cohere.rerank-v3-5:0") == (False, None)
    assert fake.calls == 0  # peek never does IO
    catalog.models()
    fresh, model = catalog.peek("cohere.rerank-v3-5:0")
    assert fresh and model is not None and model.type == "rerank"
    assert catalog.peek("nope") == (True, None)
    now[0] = 61
    assert catalog.peek("cohere.rerank-v3-5:0") == (False, None)
