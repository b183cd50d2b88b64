"""The real openai SDK against uvicorn on loopback."""

from __future__ import annotations

import openai
import pytest

pytestmark = pytest.mark.e2e


def test_models_list(openai_client: openai.OpenAI) -> None:
    ids = [m.id for m in openai_client.models.list()]
    assert "us.anthropic.claude-3-7-sonnet-20250219-v1:0" in ids
    assert "amazon.titan-embed-text-v2:0" in ids


def test_models_retrieve(openai_client: openai.OpenAI) -> None:
    model = openai_client.models.retrieve("amazon.nova-pro-v1:0")
    assert model.id == "amazon.nova-pro-v1:0"
    assert model.owned_by == "amazon"


def test_bad_key_raises_authentication_error(live_server: str) -> None:
    client = openai.OpenAI(base_url=live_server, api_key="sk-relay-wrongwrongwr-nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_unknown_model_raises_not_found(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        openai_client.models.retrieve("no-such-model")
    assert "no-such-model" in str(info.value)
