"""The REST API's gate: API key, IP allowlist, permission, rate limit, body size, JSON.

`guard(endpoint)` wraps a view registered with config.api.endpoint. Every answer,
errors included, carries Braze's X-RateLimit-* headers (empty when the key is unknown,
as recorded on Braze's 401s, spec §2.5).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from config.api import ApiError, Endpoint, json_body

from . import ratelimit
from .models import ApiKey

# Deeper JSON than this is refused before parsing: Python's parser and the validators
# recurse, and a body of 100,000 '[' would otherwise end in a RecursionError (a 500).
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
EMPTY_RATE_HEADERS = {"X-RateLimit-Limit": "", "X-RateLimit-Remaining": "", "X-RateLimit-Reset": ""}
# last_used_at is written at most this often per key, to keep writes off the hot path.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long a key lookup is cached (keys are immutable but for revocation, see _lookup).
KEY_CACHE_SECONDS = 60


def _presented_key(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return header.strip()
    # Legacy: `api_key` in the query string (spec §2.2); the body form is read by the caller.
    return request.GET.get("api_key") or None


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if brackets outside strings nest deeper than `limit` (no parsing, no recursion)."""
    depth = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


def _legacy_body_key(request: HttpRequest) -> str | None:
    """`api_key` in a JSON body: accepted from clients written before May 2020 (spec §2.2)."""
    try:
        data = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    value = data.get("api_key") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def key_cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


def forget_key(prefix: str) -> None:
    """Drop a key's cached lookup (called when a key is created or revoked)."""
    cache.delete(key_cache_key(prefix))


def _lookup(prefix: str) -> ApiKey | None:
    """The active key with this prefix, from the cache when possible.

    NOTE: revocation through the service (dashboard, admin action) clears the entry at
    once; a row changed behind its back (raw SQL, shell) is seen within KEY_CACHE_SECONDS.
    """
    cached = cache.get(key_cache_key(prefix))
    if cached is None:
        row = (ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True)
               .values("id", "name", "digest", "permissions", "allowed_networks").first())
        # Misses are cached too ({}), so a flood of made-up keys costs no queries.
        cached = row or {}
        cache.set(key_cache_key(prefix), cached, KEY_CACHE_SECONDS)
    if not cached:
        return None
    api_key = ApiKey(prefix=prefix, **cached)
    api_key._state.adding = False
    api_key._state.db = "default"
    return api_key


def authenticate(request: HttpRequest, presented: str | None) -> ApiKey:
    if not presented:
        raise ApiError(401, "Unauthorized", headers=EMPTY_RATE_HEADERS)
    api_key = _lookup(ApiKey.prefix_of(presented))
    if api_key is None or not api_key.matches(presented):
        raise ApiError(401, f"Invalid API key: {presented[:80]}", headers=EMPTY_RATE_HEADERS)
    return api_key


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_ip(raw: str) -> IpAddress | None:
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
    peer = _parse_ip(remote)
    if peer is None:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if forwarded is None or not _trusted(peer):
        return str(peer)
    hop = peer
    for entry in reversed(forwarded.split(",")):
        parsed = _parse_ip(entry)
        if parsed is None:
            return str(peer)
        hop = parsed
        if not _trusted(hop):
            return str(hop)
    # Every hop is a trusted proxy: the request started inside; take the furthest one.
    return str(hop)


def check_network(api_key: ApiKey, request: HttpRequest) -> None:
    if not api_key.allowed_networks:
        return
    address = _parse_ip(client_address(request))
    if address is None:
        raise ApiError(401, "Invalid whitelisted IPs")
    for network in api_key.allowed_networks:
        if address in ipaddress.ip_network(network, strict=False):
            return
    raise ApiError(401, "Invalid whitelisted IPs")


def _touch(api_key: ApiKey) -> None:
    # add() succeeds for one request per key and minute: that one writes last_used_at.
    if cache.add(f"apikey-used:{api_key.prefix}", 1, int(LAST_USED_RESOLUTION.total_seconds())):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())


def guard(endpoints: dict[str, Endpoint]) -> Callable[[HttpRequest], HttpResponse]:
    """One Django view for a path, dispatching on method to the registered endpoints."""

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        rate_headers: dict[str, str] = {}
        try:
            endpoint = endpoints.get(request.method or "")
            if endpoint is None:
                raise ApiError(405, "Method Not Allowed",
                               headers={"Allow": ", ".join(sorted(endpoints))})
            if len(request.body) > settings.API_MAX_BODY_BYTES:
                raise ApiError(413, "Request body too large",
                               [f"body: at most {settings.API_MAX_BODY_BYTES} bytes"])
            if request.method == "POST" and json_too_deep(request.body):
                raise ApiError(400, "Bad Request",
                               [f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels"])
            request.api_key = None
            if endpoint.permission is not None:
                presented = _presented_key(request)
                if presented is None and request.method == "POST":
                    presented = _legacy_body_key(request)
                # The key is checked before the body, so a stranger learns nothing about
                # what a valid request would look like.
                api_key = authenticate(request, presented)
                check_network(api_key, request)
                rate_headers = ratelimit.hit(key_id=api_key.pk, scope=endpoint.rate_limit)
                if not api_key.has_permission(endpoint.permission):
                    raise ApiError(403, "Access Denied",
                                   [f"this API key lacks the {endpoint.permission} permission"])
                request.api_key = api_key
                _touch(api_key)
            request.json = json_body(request) if request.method == "POST" else {}
            response = endpoint.view(request)
        except ApiError as error:
            if not rate_headers and "X-RateLimit-Limit" not in error.headers:
                error.headers = {**EMPTY_RATE_HEADERS, **error.headers}
            response = error.response()
        for name, value in rate_headers.items():
            response.setdefault(name, value)
        return response

    return view
