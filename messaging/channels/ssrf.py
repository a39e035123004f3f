"""SSRF guard for URLs that API callers choose (webhook URLs, web push endpoints).

Before connecting we resolve the host and refuse any private, loopback, link-local,
multicast or reserved address unless an operator allowed its network in
WEBHOOK_ALLOWED_NETWORKS; then we connect to the address we checked (`pinned_request`).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings


class TargetRefused(ValueError):
    """The target is not allowed (SSRF guard) or the URL is unusable."""


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.WEBHOOK_ALLOWED_NETWORKS]


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_target(url: str) -> str:
    """Return the address to connect to, or raise TargetRefused.

    Every address the URL's host resolves to must be allowed, not just the first.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"not an http(s) URL: {url[:200]!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise TargetRefused(f"cannot resolve {parts.hostname!r}: {exc}") from None
    allowed = _allowed_networks()
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not (_is_public(address) or any(address in network for network in allowed)):
            raise TargetRefused(
                f"refused: {parts.hostname} resolves to {address}, a private or local address "
                "(allow its network in WEBHOOK_ALLOWED_NETWORKS)"
            )
        addresses.append(address)
    if not addresses:
        raise TargetRefused(f"cannot resolve {parts.hostname!r}")
    return str(addresses[0])


def pinned_request(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(URL naming the checked address, Host header, httpx extensions) for one request.

    TRICKY: connecting by name would resolve the host a second time, and a DNS answer
    that changed in between (rebinding) would bypass the check. So we connect to the
    address we checked, and keep the name for the Host header (HTTP/2 :authority) and for
    TLS (SNI and certificate verification use `sni_hostname`).
    """
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username is not None:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return (
        urlunsplit(parts._replace(netloc=netloc)),
        {"Host": parts.netloc.rsplit("@", 1)[-1]},
        extensions,
    )
