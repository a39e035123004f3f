"""Webhooks over httpx (spec §4.7), behind an SSRF guard.

The URL comes from an API caller, so before connecting we resolve the host and refuse
any private, loopback, link-local, multicast or reserved address unless an operator
allowed its network in WEBHOOK_ALLOWED_NETWORKS. Redirects are not followed (a public
URL could otherwise bounce us inside). 2xx is delivered; 5xx, 429 and network errors
are retried; any other 4xx is a final failure.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

from .base import Outcome, Outgoing, Result

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
MAX_ANSWER_CHARS = 2000


class WebhookRefused(ValueError):
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
    """Return the address to connect to, or raise WebhookRefused.

    Every address the URL's host resolves to must be allowed, not just the first.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused(f"not an http(s) URL: {url[:200]!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise WebhookRefused(f"cannot resolve {parts.hostname!r}: {exc}") from None
    allowed = _allowed_networks()
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not (_is_public(address) or any(address in network for network in allowed)):
            raise WebhookRefused(
                f"refused: {parts.hostname} resolves to {address}, a private or local address "
                "(allow its network in WEBHOOK_ALLOWED_NETWORKS)"
            )
        addresses.append(address)
    if not addresses:
        raise WebhookRefused(f"cannot resolve {parts.hostname!r}")
    return str(addresses[0])


def pinned_request(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(URL naming the checked address, Host header, httpx extensions) for one request.

    TRICKY: connecting by name would resolve the host a second time, and a DNS answer
    that changed in between (rebinding) would bypass the check. So we connect to the
    address we checked, and keep the name for the Host header and for TLS (SNI and
    certificate verification use `sni_hostname`).
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


def _content_type(body: str) -> str:
    try:
        json.loads(body)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


class WebhookAdapter:
    name = "webhook"

    def __init__(self, client: httpx.Client | None = None) -> None:
        self.client = client

    def _send(self, client: httpx.Client, item: Outgoing) -> Outcome:
        payload = item.payload
        url = str(payload.get("url", ""))
        try:
            address = check_target(url)
        except WebhookRefused as exc:
            return Outcome(Result.FAILED, str(exc))
        pinned_url, host_header, extensions = pinned_request(url, address)
        body = payload.get("body")
        headers = {
            **{
                k: v
                for k, v in (payload.get("request_headers") or {}).items()
                if k.lower() != "host"
            },
            **host_header,
        }
        if body and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = _content_type(body)
        headers.setdefault("X-Herald-Message-Id", item.message_id)
        try:
            response = client.request(
                payload.get("request_method", "POST"),
                pinned_url,
                content=body.encode() if body else None,
                headers=headers,
                extensions=extensions,
            )
        except httpx.TimeoutException as exc:
            return Outcome(Result.RETRY, f"timeout: {exc}")
        except httpx.InvalidURL as exc:
            return Outcome(Result.FAILED, f"invalid URL: {exc}")
        except httpx.TransportError as exc:
            return Outcome(Result.RETRY, f"network: {exc.__class__.__name__}: {exc}")
        answer = f"HTTP {response.status_code}: {response.text[:MAX_ANSWER_CHARS]}"
        if response.is_success:
            return Outcome(Result.DELIVERED, answer)
        if response.status_code in RETRYABLE:
            retry_after = response.headers.get("Retry-After", "")
            return Outcome(
                Result.RETRY,
                answer,
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
        return Outcome(Result.FAILED, answer)

    def send_batch(self, items: list[Outgoing]) -> list[Outcome]:
        if self.client is not None:
            return [self._send(self.client, item) for item in items]
        with httpx.Client(
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
            headers={"User-Agent": "Herald-Webhook/1.0"},
        ) as client:
            return [self._send(client, item) for item in items]
