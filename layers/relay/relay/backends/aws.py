"""boto3 clients built once per process.

Endpoints come only from the standard variables (`AWS_ENDPOINT_URL`,
`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, ...), which botocore reads itself: production code has
no notion of a local stack.

boto3 is imported with the first client, not at import: the DataPlane's cold start does not
pay for boto3's resource layer and s3transfer, and a SnapStart snapshot is taken after
`relay.lifecycle.prime` has built the clients anyway. After a restore, `renew_clients`
forgets the clients and the session (credentials, connection pools) but keeps the parsed
service models, so the next clients are built without reading botocore's JSON again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from relay.errors import (
    BadRequestError,
    RelayError,
    ServiceUnavailableError,
    UpstreamError,
    UpstreamTimeoutError,
)

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

_MODEL_CALL_SERVICES = frozenset({"bedrock-runtime", "sagemaker-runtime"})


@cache
def _config(model_calls: bool) -> Config:
    from botocore.config import Config

    if model_calls:
        # Model calls can legitimately run for minutes. No retries here: the caller's SDK already
        # retries 429 and 5xx with backoff (the openai SDK twice by default), and retrying at both
        # ends multiplies attempts and hides throttling behind our backoff.
        return Config(
            read_timeout=900,
            connect_timeout=5,
            retries={"mode": "standard", "max_attempts": 1},
            max_pool_connections=64,
            tcp_keepalive=True,
        )
    return Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=32,
    )


_lock = threading.Lock()
_clients: dict[str, Any] = {}
_session: boto3.session.Session | None = None
_loader: Any = None  # botocore's data loader (parsed service models), kept across renew_clients


def _new_session() -> boto3.session.Session:
    """A session on the process's one data loader (called under `_lock`)."""
    global _loader
    import boto3
    import botocore.session

    core = botocore.session.Session()
    if _loader is None:
        _loader = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _loader)
    session = boto3.session.Session(botocore_session=core)
    # Each boto3 session appends its own data folder to the loader's paths: once is enough.
    paths = _loader.search_paths
    paths[:] = list(dict.fromkeys(paths))
    return session


def client(service: str) -> Any:
    """A shared client for `service` (thread-safe; boto3 clients are safe to share)."""
    found = _clients.get(service)
    if found is not None:
        return found
    global _session
    with _lock:
        found = _clients.get(service)
        if found is None:
            if _session is None:
                _session = _new_session()
            found = _session.client(service, config=_config(service in _MODEL_CALL_SERVICES))
            _clients[service] = found
        return found


def built_clients() -> list[str]:
    """The services a client has been built for so far."""
    with _lock:
        return sorted(_clients)


def close_clients() -> None:
    """Close every client's pooled connections (before a snapshot); the clients stay usable and
    connect again when next called."""
    with _lock:
        clients = list(_clients.values())
    for found in clients:
        found.close()


def renew_clients() -> None:
    """Forget the clients and their session, so the next ones resolve credentials again and open
    new connections (after a SnapStart restore); the parsed service models are kept."""
    global _session
    with _lock:
        _clients.clear()
        _session = None


def reset_clients() -> None:
    """Forget cached clients, their session and the parsed models (tests that change endpoint
    variables call this)."""
    global _session, _loader
    with _lock:
        _clients.clear()
        _session = None
        _loader = None


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def transport_error(exc: Exception, service: str, model: str) -> RelayError | None:
    """The domain error for a failure below the API (timeout, connection), or None for
    anything else; each service's own error table maps the rest.

    botocore's and urllib3's exceptions are imported here, on the first failure (a client
    has been built by then), not at cold start: urllib3 alone is about 50 ms of import."""
    from botocore.exceptions import BotoCoreError, ParamValidationError, ReadTimeoutError
    from urllib3.exceptions import ProtocolError

    if isinstance(exc, ReadTimeoutError):
        return UpstreamTimeoutError(f"The model {model} did not answer in time")
    if isinstance(exc, ProtocolError):
        # urllib3's own error (not botocore's) when a response stream is cut midway.
        return UpstreamError(f"The connection to {service} broke while {model} was answering")
    if isinstance(exc, ParamValidationError):
        # botocore refused the request before sending it (an empty name, a value out of
        # the API's range): the request's fault, not a reason for the SDK to retry.
        return BadRequestError(f"{service} refuses the request for {model}: {exc}")
    if isinstance(exc, BotoCoreError):
        return ServiceUnavailableError(f"Could not reach {service} for {model}", retry_after=5)
    return None


@dataclass(frozen=True)
class ClientFailure:
    """A ClientError from a model call, for the service's own error table to map."""

    error: ClientError
    code: str
    message: str


def model_call_failure(exc: Exception, service: str, model: str) -> RelayError | ClientFailure:
    """A failure below the API as its domain error, or a ClientError's code and message;
    anything else (a bug of ours) is re-raised."""
    from botocore.exceptions import ClientError

    transport = transport_error(exc, service, model)
    if transport is not None:
        return transport
    if not isinstance(exc, ClientError):
        raise exc
    return ClientFailure(exc, error_code(exc), str(exc.response.get("Error", {}).get("Message", "")))
