"""The control-plane HTTP client: one place turns API and transport errors into CLI errors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from relay_cli import __version__
from relay_cli.output import CliError

TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class ApiError(CliError):
    """The API said no: its own message, the status and code; exit status 1, no traceback."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def format_message(self) -> str:
        code = f", {self.code}" if self.code else ""
        return f"{self.message} (HTTP {self.status}{code})"


def error_from(response: httpx.Response) -> ApiError:
    """Both envelopes: control routes `{"status","error","code"}`, inference `{"error": {...}}`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message, code = "", None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message, code = str(error.get("message") or ""), error.get("code")
        elif isinstance(error, str):
            message, code = error, body.get("code")
        elif "detail" in body:
            message = str(body["detail"])
    if not message:
        message = response.text.strip()[:500] or response.reason_phrase
    return ApiError(response.status_code, message, str(code) if code is not None else None)


def openai_error(exc: Exception) -> CliError:
    """The openai SDK's APIStatusError carries the server's message; transport errors their own."""
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    status = getattr(exc, "status_code", None)
    text = message or str(exc)
    return CliError(f"{text} (HTTP {status})" if status else text)


@contextmanager
def sdk_errors() -> Iterator[None]:
    """Around openai SDK calls: an OpenAIError leaves as a CliError (main.run prints it, exit 1)."""
    import openai

    try:
        yield
    except openai.OpenAIError as exc:
        raise openai_error(exc) from None


class Api:
    """Paths are relative to the base URL (which ends in `/v1`)."""

    def __init__(
        self, base_url: str, api_key: str | None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        headers = {"User-Agent": f"relay-cli/{__version__}"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=TIMEOUT, transport=transport)
        # Presigned S3 posts go to another host and must not carry the API key.
        self.plain = httpx.Client(timeout=httpx.Timeout(None, connect=10.0), transport=transport)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.send(self.http, method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                response.status_code, f"Expected JSON from {path}, got: {response.text[:200]}"
            ) from None

    def send(self, client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise CliError(f"{method} {url}: no answer from {self.base_url} in time") from None
        except httpx.TransportError as exc:
            raise CliError(f"Cannot reach {self.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise error_from(response)
        return response

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def post_raw(self, url: str, content: Iterable[bytes], headers: Mapping[str, str]) -> httpx.Response:
        """A streamed body to an absolute URL (a presigned S3 POST), without the API key."""
        return self.send(self.plain, "POST", url, content=content, headers=headers)

    def close(self) -> None:
        self.http.close()
        self.plain.close()
