"""What the OpenAPI document needs beyond FastAPI's view of the routes (data, no logic).

Some control routes parse their JSON body by hand because the spec makes it optional, and
uploads are multipart forms read directly; FastAPI cannot see either, so they are listed
here against the same pydantic models the routes validate with.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from relay.protocol.batches import CreateBatchRequest
from relay.protocol.control import CreateKeyRequest, CreateProjectRequest, CreateUploadRequest
from relay.protocol.files import CreateFileUploadRequest
from relay.protocol.keys import UpdateKeyRequest

# (method, path) -> (the model the route validates with, whether a body is required)
JSON_BODIES: dict[tuple[str, str], tuple[type[BaseModel], bool]] = {
    ("post", "/v1/projects"): (CreateProjectRequest, False),
    ("post", "/v1/keys"): (CreateKeyRequest, False),
    ("patch", "/v1/keys/{key_id}"): (UpdateKeyRequest, True),
    ("post", "/v1/projects/{project_id}/datasets/uploads"): (CreateUploadRequest, True),
    ("post", "/v1/files/uploads"): (CreateFileUploadRequest, True),
    ("post", "/v1/batches"): (CreateBatchRequest, True),
}

_FILE = {"type": "string", "format": "binary"}
FORMS: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/projects/{project_id}/datasets"): {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {**_FILE, "description": "JSONL, up to about 4.4 MiB"},
            "name": {"type": "string"},
        },
    },
    ("post", "/v1/files"): {
        "type": "object",
        "required": ["file", "purpose"],
        "properties": {
            "file": {**_FILE, "description": "up to about 4.4 MiB; larger files through /v1/files/uploads"},
            "purpose": {"type": "string", "enum": ["batch", "fine-tune", "user_data"]},
            "expires_after[anchor]": {"type": "string", "enum": ["created_at"]},
            "expires_after[seconds]": {"type": "integer", "minimum": 3600, "maximum": 2592000},
        },
    },
    ("post", "/v1/audio/transcriptions"): {
        "type": "object",
        "required": ["file", "model"],
        "properties": {
            "file": _FILE,
            "model": {"type": "string"},
            "language": {"type": "string"},
            "prompt": {"type": "string"},
            "response_format": {"type": "string", "enum": ["json", "text", "srt", "verbose_json", "vtt"]},
            "temperature": {"type": "number"},
        },
    },
}

EXAMPLES: dict[tuple[str, str], Any] = {
    ("post", "/v1/chat/completions"): {
        "model": "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "messages": [{"role": "user", "content": "Say hello in French"}],
        "max_tokens": 100,
    },
    ("post", "/v1/completions"): {"model": "qwen-chat/dev", "prompt": "Once upon a time", "max_tokens": 50},
    ("post", "/v1/messages"): {
        "model": "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Say hello in French"}],
    },
    ("post", "/v1/responses"): {"model": "amazon.nova-lite-v1:0", "input": "Say hello in French"},
    ("post", "/v1/embeddings"): {"model": "amazon.titan-embed-text-v2:0", "input": "Relay on Bedrock"},
    ("post", "/v1/rerank"): {
        "model": "cohere.rerank-v3-5:0",
        "query": "capital of France",
        "documents": ["Paris is the capital of France", "Berlin is in Germany"],
    },
    ("post", "/v1/classification"): {"model": "sentiment/dev", "input": ["I love it", "Not great"]},
    ("post", "/v1/projects"): {"name": "support-bot"},
    ("post", "/v1/keys"): {
        "name": "search-team",
        "allowed_models": ["amazon.nova-*"],
        "rpm_limit": 600,
        "token_budget": {"limit": 5000000, "period": "month"},
    },
    ("patch", "/v1/keys/{key_id}"): {"rpm_limit": 1200, "tpm_limit": None},
    ("post", "/v1/projects/{project_id}/datasets/uploads"): {
        "size": 52428800,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "name": "support-conversations",
        "filename": "train.jsonl",
    },
    ("post", "/v1/projects/{project_id}/training-jobs"): {
        "base_model": "Llama-3.2-1B-Instruct",
        "train_dataset_id": "ds-1234567890abcdef",
        "train_test_split_ratio": 10,
        "test_functions": ["exact_match", "rouge_l"],
        "parameters": {"num_train_epochs": 2},
    },
    ("post", "/v1/projects/{project_id}/training-jobs/grpo"): {
        "base_model": "Qwen2.5-0.5B-Instruct",
        "train_dataset_id": "ds-1234567890abcdef",
        "test_functions": ["exact_match"],
        "reward": {"exact_match": 1.0},
    },
    ("post", "/v1/projects/{project_id}/deployments"): {
        "training_job_id": "tr-1234567890abcdef",
        "checkpoint": 2,
        "name": "support-bot",
        "inactive_timeout": 3600,
    },
    ("post", "/v1/engines"): {"name": "llama-engine", "base_model": "Llama-3.2-1B-Instruct"},
    ("post", "/v1/admin/models"): {"id": "qwen-chat/dev", "endpoint_name": "qwen-chat", "flavour": "openai"},
    ("post", "/v1/files/uploads"): {
        "filename": "requests.jsonl",
        "purpose": "batch",
        "bytes": 104857600,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    },
    ("post", "/v1/batches"): {
        "input_file_id": "file-0123456789abcdef01234567",
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        "metadata": {"run": "nightly"},
    },
}

# The first matching prefix names an operation's tag (the spec's groups).
TAGS: tuple[tuple[str, str], ...] = (
    ("/v1/models", "Models"),
    ("/v1/admin", "Admin"),
    ("/v1/keys", "Keys"),
    ("/v1/usage", "Keys"),
    ("/v1/testing-functions", "Training"),
    ("/v1/engines", "Inference Engines"),
    ("/v1/projects/{project_id}/datasets", "Datasets"),
    ("/v1/projects/{project_id}/training-jobs", "Training"),
    ("/v1/projects/{project_id}/deployments", "Deployments"),
    ("/v1/projects", "Projects"),
    ("/v1/files", "Files"),
    ("/v1/batches", "Batches"),
    ("/", "Inference"),
)


def error_schemas() -> dict[str, Any]:
    return {
        "OpenAIError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                        "param": {"type": ["string", "null"]},
                        "code": {"type": ["string", "null"]},
                    },
                }
            },
        },
        "AnthropicError": {
            "type": "object",
            "required": ["type", "error"],
            "properties": {
                "type": {"type": "string", "enum": ["error"]},
                "error": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "example": "invalid_request_error"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
        "ControlPlaneError": {
            "type": "object",
            "required": ["status", "error"],
            "properties": {
                "status": {"type": "integer", "example": 404},
                "error": {"type": "string", "example": "No project with id 'ms-1'"},
                "code": {"type": ["string", "null"], "example": "object_not_found"},
            },
        },
    }
