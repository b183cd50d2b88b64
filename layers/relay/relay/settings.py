"""One typed settings object, read once at cold start from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

# Environment variable names: the only place they are spelled.
ENV_TABLE_NAME = "RELAY_TABLE_NAME"
ENV_BUCKET_NAME = "RELAY_BUCKET_NAME"
ENV_ADMIN_SECRET_ID = "RELAY_ADMIN_SECRET_ID"  # noqa: S105 - a variable name
ENV_MODELS_REQUIRE_KEY = "RELAY_MODELS_REQUIRE_KEY"
ENV_ALLOWED_MODELS = "RELAY_ALLOWED_MODELS"
ENV_GUARDRAIL_ID = "RELAY_GUARDRAIL_ID"
ENV_GUARDRAIL_VERSION = "RELAY_GUARDRAIL_VERSION"
ENV_MAX_BODY_BYTES = "RELAY_MAX_BODY_BYTES"
ENV_CATALOG_TTL = "RELAY_CATALOG_TTL_SECONDS"
ENV_AUTH_CACHE_TTL = "RELAY_AUTH_CACHE_TTL_SECONDS"
ENV_MAX_AUDIO_BYTES = "RELAY_MAX_AUDIO_BYTES"
ENV_EMBEDDING_CONCURRENCY = "RELAY_EMBEDDING_CONCURRENCY"
ENV_UPLOAD_URL_TTL = "RELAY_UPLOAD_URL_TTL_SECONDS"
ENV_DOWNLOAD_URL_TTL = "RELAY_DOWNLOAD_URL_TTL_SECONDS"
ENV_STATE_MACHINE_ARN = "RELAY_STATE_MACHINE_ARN"
ENV_TRAINING_POLL_SECONDS = "RELAY_TRAINING_POLL_SECONDS"
ENV_TRAINING_SPOT = "RELAY_TRAINING_SPOT"
ENV_TRAINING_MAX_RUNTIME = "RELAY_TRAINING_MAX_RUNTIME_SECONDS"
ENV_DATASET_SYNC_VERIFY_MAX_BYTES = "RELAY_DATASET_SYNC_VERIFY_MAX_BYTES"
ENV_WORKER_FUNCTION_NAME = "RELAY_WORKER_FUNCTION_NAME"
# Engines and deployments (names fixed by the deployments design shared with the template).
ENV_DEPLOYMENT_STATE_MACHINE_ARN = "DEPLOYMENT_STATE_MACHINE_ARN"
ENV_DEPLOYER_FUNCTION_NAME = "DEPLOYER_FUNCTION_NAME"
ENV_SCHEDULE_GROUP_NAME = "SCHEDULE_GROUP_NAME"
ENV_SCHEDULER_ROLE_ARN = "SCHEDULER_ROLE_ARN"
ENV_SAGEMAKER_EXECUTION_ROLE_ARN = "SAGEMAKER_EXECUTION_ROLE_ARN"
ENV_RESOURCE_PREFIX = "RESOURCE_PREFIX"
ENV_DEPLOYMENT_POLL_SECONDS = "DEPLOYMENT_POLL_SECONDS"
ENV_DEPLOYMENT_TIMEOUT_SECONDS = "DEPLOYMENT_TIMEOUT_SECONDS"
# Event-driven invocation and batches (queues, bus, the S3 batch prefix).
ENV_REQUEST_QUEUE_URL = "RELAY_REQUEST_QUEUE_URL"
ENV_RESPONSE_QUEUE_URL = "RELAY_RESPONSE_QUEUE_URL"
ENV_REPLY_QUEUE_ARNS = "RELAY_REPLY_QUEUE_ARNS"
ENV_REQUEST_MAX_RECEIVES = "RELAY_REQUEST_MAX_RECEIVES"
ENV_REQUEST_RETRY_DELAY = "RELAY_REQUEST_RETRY_DELAY_SECONDS"
ENV_EVENT_BUS_NAME = "RELAY_EVENT_BUS_NAME"
ENV_BATCH_CONCURRENCY = "RELAY_BATCH_CONCURRENCY"
ENV_BATCH_FUNCTION_NAME = "RELAY_BATCH_FUNCTION_NAME"

# Every request size limit comes from one budget. A synchronous Lambda invocation carries at
# most 6 MiB (6,291,456 bytes) of request payload, which binds before API Gateway's 10 MB. The
# body travels inside the JSON event beside the headers and requestContext; 64 KiB is kept for
# those, leaving 6,225,920 bytes of JSON body. Multipart bodies (a binary media type in the
# template) arrive base64-encoded, 4 characters for every 3 bytes, so that room holds 4,669,440
# raw bytes. Each form keeps part of that for its boundaries, part headers and text fields: a
# dataset form 16 KiB (4,653,056 bytes, 4.44 MiB, for the file), an audio form 4 KiB for its few
# short fields (4,665,344 bytes for the audio, the limit the transcription route has always had).
LAMBDA_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024
LAMBDA_EVENT_ENVELOPE_BYTES = 64 * 1024
MULTIPART_FRAMING_BYTES = 16 * 1024
AUDIO_FORM_FRAMING_BYTES = 4 * 1024
DEFAULT_MAX_BODY_BYTES = LAMBDA_INVOKE_PAYLOAD_BYTES - LAMBDA_EVENT_ENVELOPE_BYTES
MULTIPART_BODY_MAX_BYTES = DEFAULT_MAX_BODY_BYTES // 4 * 3
MULTIPART_FILE_MAX_BYTES = MULTIPART_BODY_MAX_BYTES - MULTIPART_FRAMING_BYTES
DEFAULT_MAX_AUDIO_BYTES = MULTIPART_BODY_MAX_BYTES - AUDIO_FORM_FRAMING_BYTES
# Titan embeds one text per InvokeModel call; this many calls run at once per request.
DEFAULT_EMBEDDING_CONCURRENCY = 8
DEFAULT_CATALOG_TTL = 300.0
DEFAULT_AUTH_CACHE_TTL = 60.0

# Larger dataset files go through the presigned flow.
DATASET_INLINE_MAX_BYTES = MULTIPART_FILE_MAX_BYTES
# A presigned S3 POST uploads one object in one request, which S3 caps at 5 GiB.
DATASET_PRESIGNED_MAX_BYTES = 5 * 1024**3
# `complete` verifies a presigned upload inside the request only up to this declared size:
# hashing and validating run at about 110 MB/s, and API Gateway gives the request 29 s, so
# 256 MiB (about 2.5 s) leaves ample room. Larger files go to the pipeline worker (202).
DATASET_SYNC_VERIFY_MAX_BYTES = 256 * 1024**2
DEFAULT_UPLOAD_URL_TTL = 3600.0
DEFAULT_DOWNLOAD_URL_TTL = 300.0
# Training pipeline: how often the poll loop reads the SageMaker job, and its time limit
# (MaxRuntimeInSeconds; a spot job may also wait as long again for capacity).
DEFAULT_TRAINING_POLL_SECONDS = 60.0
DEFAULT_TRAINING_MAX_RUNTIME = 24 * 3600
# Deployments: how often the state machine polls SageMaker while a component is being
# created, and how long it waits before giving up (TimedOut, cleaned up).
DEFAULT_DEPLOYMENT_POLL_SECONDS = 30.0
DEFAULT_DEPLOYMENT_TIMEOUT_SECONDS = 3600
# The request queue's redrive maxReceiveCount: a transient failure is handed back to the queue
# until this receive, then answered with its error. Lines run at once per model in a batch.
DEFAULT_REQUEST_MAX_RECEIVES = 3
DEFAULT_REQUEST_RETRY_DELAY = 30
DEFAULT_BATCH_CONCURRENCY = 8


class SettingsError(RuntimeError):
    """A required setting is missing or malformed."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} must be set")
    return value


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from exc
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket_name: str
    admin_secret_id: str
    models_require_key: bool = True
    allowed_models: tuple[str, ...] = ("*",)
    guardrail_id: str = ""
    guardrail_version: str = ""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    catalog_ttl: float = DEFAULT_CATALOG_TTL
    auth_cache_ttl: float = DEFAULT_AUTH_CACHE_TTL
    max_audio_bytes: int = DEFAULT_MAX_AUDIO_BYTES
    embedding_concurrency: int = DEFAULT_EMBEDDING_CONCURRENCY
    dataset_inline_max_bytes: int = DATASET_INLINE_MAX_BYTES
    dataset_multipart_body_max_bytes: int = MULTIPART_BODY_MAX_BYTES
    dataset_presigned_max_bytes: int = DATASET_PRESIGNED_MAX_BYTES
    dataset_sync_verify_max_bytes: int = DATASET_SYNC_VERIFY_MAX_BYTES
    upload_url_ttl: float = DEFAULT_UPLOAD_URL_TTL
    download_url_ttl: float = DEFAULT_DOWNLOAD_URL_TTL
    # Empty only in functions that never start training jobs; the training service refuses to
    # start one without it rather than guess a name.
    state_machine_arn: str = ""
    training_poll_seconds: float = DEFAULT_TRAINING_POLL_SECONDS
    training_spot: bool = False
    training_max_runtime: int = DEFAULT_TRAINING_MAX_RUNTIME
    # The pipeline worker Lambda that verifies large dataset uploads. Empty only in functions
    # that never hand one off; the dataset service then refuses rather than verify inline.
    worker_function_name: str = ""
    # Engines and deployments. Empty only in functions that never manage them; the deployment
    # service refuses to start SageMaker work without them rather than guess names.
    deployment_state_machine_arn: str = ""
    # The deployer Lambda: its name or ARN (schedules target it and need the ARN; a bare name
    # is completed from the scheduler role's account and the client's region).
    deployer_function_name: str = ""
    schedule_group_name: str = ""
    scheduler_role_arn: str = ""
    sagemaker_execution_role_arn: str = ""
    # Every SageMaker and Scheduler name starts with it (IAM is scoped to `<prefix>-*`), lower
    # case because SageMaker lower-cases the names in its ARNs.
    resource_prefix: str = ""
    deployment_poll_seconds: float = DEFAULT_DEPLOYMENT_POLL_SECONDS
    deployment_timeout_seconds: int = DEFAULT_DEPLOYMENT_TIMEOUT_SECONDS
    # Event-driven invocation. Empty only in functions that never answer on a queue or bus; the
    # workers refuse to start without them rather than guess names.
    request_queue_url: str = ""
    response_queue_url: str = ""
    reply_queue_arns: tuple[str, ...] = ()
    request_max_receives: int = DEFAULT_REQUEST_MAX_RECEIVES
    request_retry_delay: int = DEFAULT_REQUEST_RETRY_DELAY
    event_bus_name: str = ""
    batch_concurrency: int = DEFAULT_BATCH_CONCURRENCY
    # The batch function (its name or ARN): the control plane hands new batches to it, and it
    # hands itself the rest of a long batch. Empty where batches are never run.
    batch_function_name: str = ""

    @classmethod
    def from_env(cls) -> Settings:
        patterns = tuple(p.strip() for p in os.environ.get(ENV_ALLOWED_MODELS, "*").split(",") if p.strip())
        return cls(
            table_name=_required(ENV_TABLE_NAME),
            bucket_name=_required(ENV_BUCKET_NAME),
            admin_secret_id=_required(ENV_ADMIN_SECRET_ID),
            models_require_key=_flag(ENV_MODELS_REQUIRE_KEY, True),
            allowed_models=patterns or ("*",),
            guardrail_id=os.environ.get(ENV_GUARDRAIL_ID, "").strip(),
            guardrail_version=os.environ.get(ENV_GUARDRAIL_VERSION, "").strip(),
            max_body_bytes=int(_number(ENV_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)),
            catalog_ttl=_number(ENV_CATALOG_TTL, DEFAULT_CATALOG_TTL),
            auth_cache_ttl=_number(ENV_AUTH_CACHE_TTL, DEFAULT_AUTH_CACHE_TTL),
            max_audio_bytes=int(_number(ENV_MAX_AUDIO_BYTES, DEFAULT_MAX_AUDIO_BYTES)),
            embedding_concurrency=max(
                1, int(_number(ENV_EMBEDDING_CONCURRENCY, DEFAULT_EMBEDDING_CONCURRENCY))
            ),
            dataset_sync_verify_max_bytes=int(
                _number(ENV_DATASET_SYNC_VERIFY_MAX_BYTES, DATASET_SYNC_VERIFY_MAX_BYTES)
            ),
            upload_url_ttl=_number(ENV_UPLOAD_URL_TTL, DEFAULT_UPLOAD_URL_TTL),
            download_url_ttl=_number(ENV_DOWNLOAD_URL_TTL, DEFAULT_DOWNLOAD_URL_TTL),
            state_machine_arn=os.environ.get(ENV_STATE_MACHINE_ARN, "").strip(),
            training_poll_seconds=max(1.0, _number(ENV_TRAINING_POLL_SECONDS, DEFAULT_TRAINING_POLL_SECONDS)),
            training_spot=_flag(ENV_TRAINING_SPOT, False),
            training_max_runtime=int(_number(ENV_TRAINING_MAX_RUNTIME, DEFAULT_TRAINING_MAX_RUNTIME)),
            worker_function_name=os.environ.get(ENV_WORKER_FUNCTION_NAME, "").strip(),
            deployment_state_machine_arn=os.environ.get(ENV_DEPLOYMENT_STATE_MACHINE_ARN, "").strip(),
            deployer_function_name=os.environ.get(ENV_DEPLOYER_FUNCTION_NAME, "").strip(),
            schedule_group_name=os.environ.get(ENV_SCHEDULE_GROUP_NAME, "").strip(),
            scheduler_role_arn=os.environ.get(ENV_SCHEDULER_ROLE_ARN, "").strip(),
            sagemaker_execution_role_arn=os.environ.get(ENV_SAGEMAKER_EXECUTION_ROLE_ARN, "").strip(),
            resource_prefix=os.environ.get(ENV_RESOURCE_PREFIX, "").strip().lower(),
            deployment_poll_seconds=max(
                1.0, _number(ENV_DEPLOYMENT_POLL_SECONDS, DEFAULT_DEPLOYMENT_POLL_SECONDS)
            ),
            deployment_timeout_seconds=int(
                _number(ENV_DEPLOYMENT_TIMEOUT_SECONDS, DEFAULT_DEPLOYMENT_TIMEOUT_SECONDS)
            ),
            request_queue_url=os.environ.get(ENV_REQUEST_QUEUE_URL, "").strip(),
            response_queue_url=os.environ.get(ENV_RESPONSE_QUEUE_URL, "").strip(),
            reply_queue_arns=tuple(
                a.strip() for a in os.environ.get(ENV_REPLY_QUEUE_ARNS, "").split(",") if a.strip()
            ),
            request_max_receives=max(1, int(_number(ENV_REQUEST_MAX_RECEIVES, DEFAULT_REQUEST_MAX_RECEIVES))),
            request_retry_delay=int(_number(ENV_REQUEST_RETRY_DELAY, DEFAULT_REQUEST_RETRY_DELAY)),
            event_bus_name=os.environ.get(ENV_EVENT_BUS_NAME, "").strip(),
            batch_concurrency=max(1, int(_number(ENV_BATCH_CONCURRENCY, DEFAULT_BATCH_CONCURRENCY))),
            batch_function_name=os.environ.get(ENV_BATCH_FUNCTION_NAME, "").strip(),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings.from_env()
