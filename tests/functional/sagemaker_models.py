"""Registers the emulated SageMaker endpoints as models (shared by functional and e2e tests)."""

from __future__ import annotations

from typing import Any

LABELS = ["negative", "neutral", "positive"]
MODELS: dict[str, dict[str, Any]] = {
    "emu-chat/test": {"endpoint_name": "relay-emu-openai", "flavour": "openai"},
    "emu-tgi/test": {"endpoint_name": "relay-emu-tgi", "flavour": "tgi"},
    "emu-embed/test": {"endpoint_name": "relay-emu-tei-embedding", "flavour": "tei-embedding"},
    "emu-oai-embed/test": {"endpoint_name": "relay-emu-openai", "flavour": "openai", "type": "embeddings"},
    "emu-rerank/test": {"endpoint_name": "relay-emu-tei-rerank", "flavour": "tei-rerank"},
    "emu-classifier/test": {
        "endpoint_name": "relay-emu-classifier",
        "flavour": "classifier",
        "labels": LABELS,
    },
    "emu-whisper/test": {"endpoint_name": "relay-emu-whisper", "flavour": "whisper"},
    "emu-gone/test": {"endpoint_name": "relay-emu-missing", "flavour": "openai"},
}


def register_all(client: Any, headers: dict[str, str]) -> None:
    for model_id, spec in MODELS.items():
        body = {"id": model_id, **spec, "check_endpoint": False, "overwrite": True}
        response = client.post("/v1/admin/models", json=body, headers=headers)
        assert response.status_code == 201, response.text
