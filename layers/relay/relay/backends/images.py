"""Fetch http(s) image URLs for vision requests, guarded against SSRF.

A URL in a request must not make Relay reach its own network: the host is resolved
first, every address must be globally routable (no private, loopback, link-local,
reserved, multicast or cloud metadata addresses), and the connection goes to the
address that was checked (so a second DNS answer cannot swap it), with TLS still
verified against the host name. Redirects are followed only through the same guard: each
hop is resolved and checked before it is connected to. Which addresses count as public
(IPv4 wrapped in IPv6 included) is `addresses.is_public`. Size and time are capped; only
JPEG, PNG, GIF and WebP bytes are accepted.

Tests inject `resolver` and `transport`; production code has no bypass. This is an IO adapter
(httpx), so it lives with the backends that use it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from relay.backends.addresses import is_public
from relay.errors import BadRequestError
from relay.translate.bedrock.content import FetchedImage, image_format

if TYPE_CHECKING:
    import httpx

Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_REDIRECTS = 3


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class ImageFetcher:
    def __init__(
        self,
        *,
        max_bytes: int,
        timeout: float,
        resolver: Resolver = system_resolver,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._resolver = resolver
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    @property
    def _client(self) -> httpx.AsyncClient:
        # httpx is imported on the first image URL, not at cold start (~60 ms).
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(
                transport=self._transport,
                follow_redirects=False,
                timeout=self._timeout,
                headers={"User-Agent": "relay-image-fetch"},
            )
        return self._http

    async def _address(self, host: str, port: int, param: str) -> str:
        try:
            addresses = await self._resolver(host, port)
        except (OSError, UnicodeError) as exc:
            # The IDNA codec raises UnicodeError for an empty or over-long label (a..b).
            raise BadRequestError(f"Could not resolve the image host {host[:255]}", param=param) from exc
        if not addresses or not all(is_public(a) for a in addresses):
            raise BadRequestError("Image URLs must point to public internet addresses", param=param)
        return addresses[0]

    async def _get(self, url: str, param: str) -> httpx.Response | bytes:
        try:
            parts = urlsplit(url)
            explicit_port = parts.port  # raises ValueError when out of range or not a number
        except ValueError as exc:
            raise BadRequestError(f"The image URL is malformed: {exc}", param=param) from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequestError("Image URLs must be http(s) or data: URLs", param=param)
        port = explicit_port or (443 if parts.scheme == "https" else 80)
        address = await self._address(parts.hostname, port, param)
        literal = f"[{address}]" if ":" in address else address
        target = parts._replace(netloc=f"{literal}:{port}").geturl()
        # urlsplit drops an IPv6 literal's brackets; the Host header needs them back (RFC 7230 5.4).
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        request = self._client.build_request(
            "GET", target, headers={"Host": host_header}, extensions={"sni_hostname": parts.hostname}
        )
        response = await self._client.send(request, stream=True)
        if response.is_redirect:
            await response.aclose()
            return response
        try:
            if response.status_code != 200:
                raise BadRequestError(f"The image URL answered HTTP {response.status_code}", param=param)
            declared = int(response.headers.get("content-length") or 0)
            if declared > self._max_bytes:
                raise BadRequestError(f"The image is larger than {self._max_bytes} bytes", param=param)
            data = bytearray()
            async for piece in response.aiter_bytes():
                data += piece
                if len(data) > self._max_bytes:
                    raise BadRequestError(f"The image is larger than {self._max_bytes} bytes", param=param)
            return bytes(data)
        finally:
            await response.aclose()

    async def fetch(self, url: str, param: str) -> FetchedImage:
        import httpx

        try:
            async with asyncio.timeout(self._timeout):
                for _ in range(MAX_REDIRECTS + 1):
                    result = await self._get(url, param)
                    if isinstance(result, bytes):
                        fmt = image_format(result)
                        if fmt is None:
                            raise BadRequestError("Images must be JPEG, PNG, GIF or WebP", param=param)
                        return FetchedImage(fmt, result)
                    url = urljoin(url, result.headers.get("location", ""))
        except TimeoutError as exc:
            raise BadRequestError("Fetching the image URL timed out", param=param) from exc
        except httpx.HTTPError as exc:
            raise BadRequestError(
                f"Could not fetch the image URL: {type(exc).__name__}", param=param
            ) from exc
        raise BadRequestError("The image URL redirected too many times", param=param)

    async def fetch_all(self, urls: Iterable[tuple[str, str]]) -> dict[str, FetchedImage]:
        """Fetch (url, param) pairs concurrently; the first failure wins."""
        unique = dict(urls)
        results = await asyncio.gather(*(self.fetch(url, param) for url, param in unique.items()))
        return dict(zip(unique, results, strict=True))
