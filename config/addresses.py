"""The caller's address as seen through trusted proxies (API key allowlists, the audit log)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(raw: str) -> IpAddress | None:
    try:
        parsed = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    # A server bound to [::] reports IPv4 peers as ::ffff:a.b.c.d; compare them as IPv4.
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _trusted(address: IpAddress) -> bool:
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or X-Forwarded-For when a trusted proxy relays.

    The header is read only when the peer is in TRUSTED_PROXIES, so a client talking to
    us directly cannot claim another address. It is walked from the right, skipping
    trusted proxies: each proxy appends the address it received the request from, so the
    first untrusted entry is the client, and whatever the client itself put further left
    is never read. A malformed entry on that walk (a broken proxy) means REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    peer = parse_ip(remote)
    if peer is None:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if forwarded is None or not _trusted(peer):
        return str(peer)
    hop = peer
    for entry in reversed(forwarded.split(",")):
        parsed = parse_ip(entry)
        if parsed is None:
            return str(peer)
        hop = parsed
        if not _trusted(hop):
            return str(hop)
    # Every hop is a trusted proxy: the request started inside; take the furthest one.
    return str(hop)
