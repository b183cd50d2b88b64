"""The openai SDK's errors as CLI errors: the server's message and status, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from relay_cli.output import CliError


def openai_error(exc: Exception) -> CliError:
    """The SDK's APIStatusError carries the server's message; transport errors their own."""
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    status = getattr(exc, "status_code", None)
    text = message or str(exc)
    return CliError(f"{text} (HTTP {status})" if status else text)


@contextmanager
def sdk_errors() -> Iterator[None]:
    """Around SDK calls: an OpenAIError leaves as a CliError (main.run prints it, exit 1)."""
    import openai

    try:
        yield
    except openai.OpenAIError as exc:
        raise openai_error(exc) from None
