"""Secrets Manager at the edge: read or replace a plain secret string, with errors mapped by code."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.backends.aws_control import raise_control_error
from relay.errors import ServiceUnavailableError

# At DEBUG, botocore logs every request's parameters and every response body: GetSecretValue's
# answer and PutSecretValue's request are the admin key in plain text. A function run with its
# log level at DEBUG (Lambda's ApplicationLogLevel sets the root logger) must not write it out,
# so these two loggers never go below INFO, whatever their parents are set to.
for _name in ("botocore.endpoint", "botocore.parsers"):
    logging.getLogger(_name).setLevel(logging.INFO)

# The secret is missing or cannot be decrypted: a deployment problem the caller reports as 503.
_UNREADABLE = frozenset({"ResourceNotFoundException", "DecryptionFailure", "InvalidRequestException"})


@contextmanager
def _secret_errors(secret_id: str, operation: str, verb: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        if error_code(exc) in _UNREADABLE:
            raise ServiceUnavailableError(f"The secret {secret_id} cannot be {verb}", retry_after=5) from exc
        raise_control_error(exc, operation)


def secrets_manager_source(client: Callable[[], Any], secret_id: str) -> Callable[[], str]:
    """A callable that reads the secret's string (the admin key) from Secrets Manager."""

    def read() -> str:
        with _secret_errors(secret_id, "GetSecretValue", "read"):
            response = client().get_secret_value(SecretId=secret_id)
        return str(response.get("SecretString", ""))

    return read


def secrets_manager_writer(client: Callable[[], Any], secret_id: str) -> Callable[[str], None]:
    """A callable that stores a new value of the secret (the admin key's rotation)."""

    def write(value: str) -> None:
        with _secret_errors(secret_id, "PutSecretValue", "written"):
            client().put_secret_value(SecretId=secret_id, SecretString=value)

    return write
