"""Thin adapters over InvokeModel (bedrock-runtime) and Rerank (bedrock-agent-runtime)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.bedrock.errors import map_bedrock_error
from relay.errors import UpstreamError


class BedrockInvoker:
    def __init__(self, runtime_factory: Callable[[], Any], agent_factory: Callable[[], Any]) -> None:
        self._runtime = runtime_factory
        self._agent = agent_factory

    def invoke_model(self, model_id: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        """The model's JSON answer and the HTTP headers (token counts live there)."""
        try:
            response = self._runtime().invoke_model(
                modelId=model_id,
                body=json.dumps(body).encode(),
                contentType="application/json",
                accept="application/json",
            )
            raw = response["body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise map_bedrock_error(exc, model_id) from exc
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise UpstreamError(f"The model {model_id} answered with malformed JSON") from exc
        return answer, dict(response.get("ResponseMetadata", {}).get("HTTPHeaders", {}))

    def rerank(self, model_id: str, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(self._agent().rerank(**request))
        except (ClientError, BotoCoreError) as exc:
            raise map_bedrock_error(exc, model_id) from exc
