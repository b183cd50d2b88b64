"""The image fetcher's SSRF guard: every IPv4-in-IPv6 form unwrapped, each redirect hop checked.

No sockets: a stub resolver answers names and `httpx.MockTransport` plays the servers.
"""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from relay.backends.images import ImageFetcher, is_public
from relay.errors import BadRequestError

pytestmark = pytest.mark.unit

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

# Each of these reaches a loopback, link-local (metadata), private or reserved IPv4 address.
EMBEDDED_PRIVATE = [
    "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix -> 169.254.169.254
    "64:ff9b::7f00:1",  # NAT64 -> 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 -> 10.0.0.1
    "64:ff9b:1::a9fe:a9fe",  # NAT64 local-use prefix (RFC 8215): never public
    "64:ff9b:1:808:808::",  # local-use even with a public-looking tail
    "::ffff:0:7f00:1",  # IPv4-translated (SIIT) -> 127.0.0.1
    "::ffff:0:a9fe:a9fe",  # IPv4-translated -> 169.254.169.254
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:a9fe:a9fe",  # IPv4-mapped -> 169.254.169.254
    "::7f00:1",  # IPv4-compatible -> 127.0.0.1
    "::a9fe:a9fe",  # IPv4-compatible -> 169.254.169.254
    "::c0a8:101",  # IPv4-compatible -> 192.168.1.1
    "2002:7f00:1::",  # 6to4 -> 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 -> 169.254.169.254
    "2002:c0a8:101::1",  # 6to4 -> 192.168.1.1
    "2001:0:7f00:1:0:0:0:1",  # Teredo, server 127.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, client 192.0.2.45 (documentation)
    "2001:0:808:808:0:0:5601:5601",  # Teredo, public server but client 169.254.169.254 (obfuscated)
]
PLAIN_PRIVATE = [
    "127.0.0.1",
    "169.254.169.254",
    "10.1.2.3",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd00:ec2::254",  # the EC2 IMDS IPv6 address
    "2001:db8::1",
    "ff02::1",
    "100::1",
    "not an address",
]
PUBLIC = [
    "8.8.8.8",
    "93.184.215.14",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82a::200e",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8: still the public internet
    "::ffff:8.8.8.8",  # IPv4-mapped public address
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("address", EMBEDDED_PRIVATE + PLAIN_PRIVATE)
def test_addresses_that_reach_inside_are_refused(address: str) -> None:
    assert is_public(address) is False


@pytest.mark.parametrize("address", PUBLIC)
def test_global_unicast_addresses_are_allowed(address: str) -> None:
    assert is_public(address) is True


class Servers:
    """DNS names to addresses, and a MockTransport answering by the address connected to."""

    def __init__(self, names: dict[str, list[str]], routes: dict[str, httpx.Response]) -> None:
        self.names = names
        self.routes = routes
        self.seen: list[httpx.Request] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        if host in self.names:
            return self.names[host]
        return [host]  # an IP literal resolves to itself, as getaddrinfo does

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.routes.get(request.url.host, httpx.Response(404))

    def fetcher(self) -> ImageFetcher:
        return ImageFetcher(
            max_bytes=1 << 20, timeout=5, resolver=self.resolve, transport=httpx.MockTransport(self.handle)
        )


@pytest.mark.parametrize("inside", EMBEDDED_PRIVATE[:14])
def test_a_public_host_redirecting_to_an_embedded_address_is_refused_before_connecting(inside: str) -> None:
    servers = Servers(
        {"images.example.com": ["93.184.215.14"]},
        {"93.184.215.14": httpx.Response(302, headers={"Location": f"http://[{inside}]/latest/meta-data/"})},
    )
    with pytest.raises(BadRequestError, match="public internet"):
        asyncio.run(servers.fetcher().fetch("https://images.example.com/cat.png", "messages[0]"))
    assert [r.url.host for r in servers.seen] == ["93.184.215.14"]  # the second hop never connected


def test_a_name_resolving_to_a_nat64_metadata_address_is_refused() -> None:
    servers = Servers({"sneaky.example.com": ["2606:4700::1", "64:ff9b::a9fe:a9fe"]}, {})
    with pytest.raises(BadRequestError, match="public internet"):
        asyncio.run(servers.fetcher().fetch("http://sneaky.example.com/x.png", "messages[0]"))
    assert servers.seen == []


def test_each_hop_is_checked_and_a_public_chain_is_fetched() -> None:
    servers = Servers(
        {"a.example.com": ["93.184.215.14"], "b.example.com": ["2606:4700:4700::1111"]},
        {
            "93.184.215.14": httpx.Response(301, headers={"Location": "https://b.example.com/final.png"}),
            "2606:4700:4700::1111": httpx.Response(200, content=PNG),
        },
    )
    image = asyncio.run(servers.fetcher().fetch("https://a.example.com/start", "messages[0]"))
    assert image.data == PNG
    assert [r.headers["host"] for r in servers.seen] == ["a.example.com", "b.example.com"]


def test_an_ipv6_literal_host_header_is_bracketed() -> None:
    servers = Servers({}, {"2606:4700:4700::1111": httpx.Response(200, content=PNG)})
    asyncio.run(servers.fetcher().fetch("http://[2606:4700:4700::1111]:8080/i.png", "messages[0]"))
    asyncio.run(servers.fetcher().fetch("http://[2606:4700:4700::1111]/i.png", "messages[0]"))
    assert [r.headers["host"] for r in servers.seen] == [
        "[2606:4700:4700::1111]:8080",
        "[2606:4700:4700::1111]",
    ]
