"""The emulated Bedrock model catalogue: real model ids, so family-specific behaviour applies.

ON_DEMAND models are callable by their own id; INFERENCE_PROFILE-only models (as the
newest Claude models are on AWS) only through the profiles listed in PROFILES.
"""

from __future__ import annotations

from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"

# (model id, name, provider, output modality, inference types)
FOUNDATION_MODELS: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    (
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "Claude 3.5 Haiku",
        "Anthropic",
        "TEXT",
        ("ON_DEMAND", "INFERENCE_PROFILE"),
    ),
    (
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "Claude 3.7 Sonnet",
        "Anthropic",
        "TEXT",
        ("INFERENCE_PROFILE",),
    ),
    (
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "Claude Sonnet 4",
        "Anthropic",
        "TEXT",
        ("INFERENCE_PROFILE",),
    ),
    ("amazon.nova-lite-v1:0", "Nova Lite", "Amazon", "TEXT", ("ON_DEMAND", "INFERENCE_PROFILE")),
    ("amazon.nova-pro-v1:0", "Nova Pro", "Amazon", "TEXT", ("ON_DEMAND", "INFERENCE_PROFILE")),
    ("meta.llama3-1-8b-instruct-v1:0", "Llama 3.1 8B Instruct", "Meta", "TEXT", ("ON_DEMAND",)),
    ("mistral.mistral-large-2407-v1:0", "Mistral Large (24.07)", "Mistral AI", "TEXT", ("ON_DEMAND",)),
    ("deepseek.r1-v1:0", "DeepSeek-R1", "DeepSeek", "TEXT", ("INFERENCE_PROFILE",)),
    ("cohere.command-r-plus-v1:0", "Command R+", "Cohere", "TEXT", ("ON_DEMAND",)),
    ("amazon.titan-embed-text-v1", "Titan Embeddings G1 - Text", "Amazon", "EMBEDDING", ("ON_DEMAND",)),
    ("amazon.titan-embed-text-v2:0", "Titan Text Embeddings V2", "Amazon", "EMBEDDING", ("ON_DEMAND",)),
    ("cohere.embed-english-v3", "Embed English", "Cohere", "EMBEDDING", ("ON_DEMAND",)),
    ("cohere.embed-multilingual-v3", "Embed Multilingual", "Cohere", "EMBEDDING", ("ON_DEMAND",)),
    ("cohere.embed-v4:0", "Embed v4", "Cohere", "EMBEDDING", ("ON_DEMAND", "INFERENCE_PROFILE")),
    ("cohere.rerank-v3-5:0", "Rerank 3.5", "Cohere", "TEXT", ("ON_DEMAND",)),
    ("amazon.rerank-v1:0", "Rerank 1.0", "Amazon", "TEXT", ("ON_DEMAND",)),
    # Not a text model: must not appear in /v1/models.
    ("amazon.nova-canvas-v1:0", "Nova Canvas", "Amazon", "IMAGE", ("ON_DEMAND",)),
]

# (profile id, name, base model id)
PROFILES: list[tuple[str, str, str]] = [
    (
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "US Claude 3.5 Haiku",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
    ),
    (
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "US Claude 3.7 Sonnet",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
    ),
    (
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "US Claude Sonnet 4",
        "anthropic.claude-sonnet-4-20250514-v1:0",
    ),
    (
        "global.anthropic.claude-sonnet-4-20250514-v1:0",
        "Global Claude Sonnet 4",
        "anthropic.claude-sonnet-4-20250514-v1:0",
    ),
    ("us.amazon.nova-lite-v1:0", "US Nova Lite", "amazon.nova-lite-v1:0"),
    ("us.amazon.nova-pro-v1:0", "US Nova Pro", "amazon.nova-pro-v1:0"),
    ("us.deepseek.r1-v1:0", "US DeepSeek-R1", "deepseek.r1-v1:0"),
    ("us.cohere.embed-v4:0", "US Embed v4", "cohere.embed-v4:0"),
]


def model_summary(
    model_id: str, name: str, provider: str, output: str, types: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": name,
        "providerName": provider,
        "inputModalities": ["TEXT"],
        "outputModalities": [output],
        "responseStreamingSupported": output == "TEXT",
        "customizationsSupported": [],
        "inferenceTypesSupported": list(types),
        "modelLifecycle": {"status": "ACTIVE"},
    }


def profile_summary(profile_id: str, name: str, base: str) -> dict[str, Any]:
    regions = ["us-east-1", "us-east-2", "us-west-2"]
    return {
        "inferenceProfileName": name,
        "description": f"Routes requests to {name} across regions",
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
        "inferenceProfileArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{profile_id}",
        "models": [{"modelArn": f"arn:aws:bedrock:{r}::foundation-model/{base}"} for r in regions],
        "inferenceProfileId": profile_id,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }
