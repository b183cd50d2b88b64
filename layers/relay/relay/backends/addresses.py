"""Which IP addresses an outbound fetch may connect to: global unicast only, IPv4-in-IPv6 unwrapped.

An IPv6 address can carry an IPv4 one that a NAT64 gateway, a 6to4 relay, a Teredo relay or
the host's own dual stack turns back into IPv4, so `64:ff9b::a9fe:a9fe` reaches
169.254.169.254 as surely as the IPv4 literal does. Python's `is_global` judges the IPv6
wrapper and its tables change between versions (3.11 calls 6to4 and NAT64 global), so the
rule here is explicit: unwrap every embedding, and every address found must be public.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

# The IPv4 address sits in the low 32 bits of these.
_LOW32_EMBEDDINGS = (
    IPv6Network("::ffff:0:0/96"),  # IPv4-mapped (the host's dual stack)
    IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT, RFC 2765)
    IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
    IPv6Network("::/96"),  # IPv4-compatible (deprecated), and :: and ::1 with them
)
# Local-use NAT64 (RFC 8215): the operator's own translator, where the IPv4 part sits depends
# on its prefix length. Never a public destination.
_NAT64_LOCAL = IPv6Network("64:ff9b:1::/48")
_GLOBAL_UNICAST = IPv6Network("2000::/3")
_SHARED_V4 = IPv4Network("100.64.0.0/10")  # carrier-grade NAT: not global on any Python


def embedded_ipv4(ip: IPv6Address) -> list[IPv4Address] | None:
    """The IPv4 addresses an IPv6 address carries, or None when it is plain IPv6."""
    for network in _LOW32_EMBEDDINGS:
        if ip in network:
            return [IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        server, client = ip.teredo
        return [server, client]
    return None


def _public_v4(ip: IPv4Address) -> bool:
    return ip.is_global and not ip.is_multicast and ip not in _SHARED_V4


def is_public(address: str) -> bool:
    """True only for an address on the public internet, whatever IPv4 it wraps."""
    try:
        ip = ip_address(address.split("%", 1)[0])  # a zone id (fe80::1%eth0) is link-local anyway
    except ValueError:
        return False
    if isinstance(ip, IPv4Address):
        return _public_v4(ip)
    if ip in _NAT64_LOCAL:
        return False
    inner = embedded_ipv4(ip)
    if inner is not None:
        return all(_public_v4(v4) for v4 in inner)
    return ip in _GLOBAL_UNICAST and ip.is_global and not ip.is_multicast
