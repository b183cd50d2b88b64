"""Secrets Manager at the edge: read a plain secret string, with errors mapped by code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.backends.aws_control import raise_control_error
from relay.errors import ServiceUnavailableError

# The secret is missing or cannot be decrypted: a deployment problem the caller reports as 503.
_UNREADABLE = frozenset({"ResourceNotFoundException", "DecryptionFailure", "InvalidRequestException"})


def secrets_manager_source(client: Callable[[], Any], secret_id: str) -> Callable[[], str]:
    """A callable that reads the secret's string (the admin key) from Secrets Manager."""

    def read() -> str:
        try:
            response = client().get_secret_value(SecretId=secret_id)
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) in _UNREADABLE:
                raise ServiceUnavailableError(
                    f"The secret {secret_id} cannot be read", retry_after=5
                ) from exc
            raise_control_error(exc, "GetSecretValue")
        return str(response.get("SecretString", ""))

    return read
