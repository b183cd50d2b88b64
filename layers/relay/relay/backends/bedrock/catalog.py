"""Bedrock's model listing (ListFoundationModels, ListInferenceProfiles), cached with a TTL."""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.errors import ServiceUnavailableError
from relay.observability import logger

# Rerank models report TEXT output; their family decides the type.
_RERANK_PREFIXES = ("cohere.rerank", "amazon.rerank")


@dataclass(frozen=True)
class BedrockModel:
    id: str
    name: str
    provider: str
    type: str
    created: int


def _model_type(model_id: str, output_modalities: Iterable[str]) -> str | None:
    base = model_id.split(".", 1)[1] if model_id.count(".") > 1 else model_id
    if base.startswith(_RERANK_PREFIXES) or model_id.startswith(_RERANK_PREFIXES):
        return "rerank"
    outputs = set(output_modalities)
    if "EMBEDDING" in outputs:
        return "embeddings"
    if "TEXT" in outputs:
        return "chat"
    return None  # image and video generators are not served by an OpenAI text API


def _to_epoch(value: Any, default: int) -> int:
    if hasattr(value, "timestamp"):
        return int(value.timestamp())
    return default


class BedrockCatalog:
    """Lists Bedrock models and inference profiles; serves a stale list if a refresh fails."""

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        ttl: float,
        allowed: tuple[str, ...] = ("*",),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_factory = client_factory
        self._ttl = ttl
        self._allowed = allowed
        self._clock = clock
        self._lock = threading.Lock()
        self._models: dict[str, BedrockModel] | None = None
        self._expires = 0.0

    def is_allowed(self, model_id: str) -> bool:
        return any(fnmatch.fnmatchcase(model_id, pattern) for pattern in self._allowed)

    def models(self) -> dict[str, BedrockModel]:
        now = self._clock()
        if self._models is not None and now < self._expires:
            return self._models
        with self._lock:
            if self._models is not None and self._clock() < self._expires:
                return self._models
            try:
                fresh = self._fetch()
            except (ClientError, BotoCoreError) as exc:
                if self._models is not None:
                    logger.warning("bedrock model listing failed; serving cached list", exc_info=exc)
                    self._expires = self._clock() + min(self._ttl, 30.0)
                    return self._models
                raise ServiceUnavailableError("Could not list Amazon Bedrock models", retry_after=5) from exc
            self._models = fresh
            self._expires = self._clock() + self._ttl
            return fresh

    def get(self, model_id: str) -> BedrockModel | None:
        return self.models().get(model_id)

    def peek(self, model_id: str) -> tuple[bool, BedrockModel | None]:
        """(fresh, model) from the cache without IO, so the hot path can skip a thread hop;
        (False, None) when the cache is empty or expired and `get` must be called."""
        models = self._models
        if models is None or self._clock() >= self._expires:
            return False, None
        return True, models.get(model_id)

    def _fetch(self) -> dict[str, BedrockModel]:
        client = self._client_factory()
        now = int(time.time())
        found: dict[str, BedrockModel] = {}
        # ListFoundationModels is not paginated; ListInferenceProfiles is.
        summaries = client.list_foundation_models().get("modelSummaries", [])
        base_types: dict[str, BedrockModel] = {}
        for summary in summaries:
            model_id = summary["modelId"]
            kind = _model_type(model_id, summary.get("outputModalities", []))
            if kind is None:
                continue
            model = BedrockModel(
                id=model_id,
                name=summary.get("modelName", model_id),
                provider=summary.get("providerName", "bedrock"),
                type=kind,
                created=now,
            )
            base_types[model_id] = model
            # Models reachable only through an inference profile are listed by profile id.
            if "ON_DEMAND" in summary.get("inferenceTypesSupported", ["ON_DEMAND"]):
                found[model_id] = model
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"maxResults": 1000}
            if token:
                kwargs["nextToken"] = token
            page = client.list_inference_profiles(**kwargs)
            for profile in page.get("inferenceProfileSummaries", []):
                if profile.get("status", "ACTIVE") != "ACTIVE":
                    continue
                profile_id = profile["inferenceProfileId"]
                arns = [m.get("modelArn", "") for m in profile.get("models", [])]
                base_id = arns[0].rsplit("/", 1)[-1] if arns else ""
                base = base_types.get(base_id)
                kind = base.type if base else _model_type(profile_id, ["TEXT"])
                if kind is None:
                    continue
                found[profile_id] = BedrockModel(
                    id=profile_id,
                    name=profile.get("inferenceProfileName", profile_id),
                    provider=base.provider if base else "bedrock",
                    type=kind,
                    created=_to_epoch(profile.get("createdAt"), now),
                )
            token = page.get("nextToken")
            if not token:
                break
        return {mid: m for mid, m in found.items() if self.is_allowed(mid)}
