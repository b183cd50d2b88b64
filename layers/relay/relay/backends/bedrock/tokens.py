"""Bedrock CountTokens: the input tokens of a chat request, counted by the model's own tokenizer.

The request goes through the same Converse translation as a real call, so the count is
of exactly what `/v1/chat/completions` or `/v1/messages` would send.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.bedrock.chat import image_urls
from relay.backends.bedrock.errors import map_bedrock_error
from relay.backends.images import ImageFetcher
from relay.backends.threads import CALLS
from relay.capabilities.families import base_model_id, family_of
from relay.errors import BadRequestError
from relay.protocol.chat import ChatCompletionRequest
from relay.targets import BedrockTarget
from relay.translate.bedrock.chat import to_converse

# The parts of Converse input that CountTokens takes; inference settings are not counted.
_COUNTED = ("messages", "system", "toolConfig", "additionalModelRequestFields")


class BedrockTokenCounter:
    def __init__(self, client: Any, *, images: ImageFetcher) -> None:
        self._client = client
        self._images = images

    def _count(self, model_id: str, converse: dict[str, Any]) -> int:
        try:
            result = self._client.count_tokens(modelId=model_id, input={"converse": converse})
        except (ClientError, BotoCoreError) as exc:
            raise map_bedrock_error(exc, model_id) from exc
        return int(result["inputTokens"])

    async def count(self, request: ChatCompletionRequest, target: BedrockTarget) -> int:
        family = family_of(target.id)
        if not family.count_tokens:
            raise BadRequestError(f"Bedrock cannot count tokens for the model '{target.id}'", param="model")
        urls = image_urls(request)
        images = await self._images.fetch_all(urls) if urls and family.vision else {}
        kwargs = to_converse(request, family, model_id=target.id, images=images)
        converse = {key: kwargs[key] for key in _COUNTED if key in kwargs}
        # CountTokens takes the foundation model, not a cross-region inference profile: the
        # tokenizer is the model's, wherever it runs. An opaque ARN goes as it is.
        model_id = base_model_id(target.id) or target.id
        return await CALLS.run(self._count, model_id, converse)
