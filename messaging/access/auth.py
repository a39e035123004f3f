"""API key authentication: the key a request presents, looked up through the cache.

A key arrives as `Authorization: Bearer KEY` (or the bare key), or — from clients written
before May 2020 — as `api_key` in the query string or the JSON body (spec §2.2).
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from config.api import ApiError

from ..models import ApiKey

# Braze's 401s carry the rate-limit headers, empty, as the key is unknown (spec §2.5).
EMPTY_RATE_HEADERS = {"X-RateLimit-Limit": "", "X-RateLimit-Remaining": "", "X-RateLimit-Reset": ""}
# last_used_at is written at most this often per key, to keep writes off the hot path.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long a key lookup is cached (keys are immutable but for revocation, see _lookup).
KEY_CACHE_SECONDS = 60


def presented_key(request: HttpRequest) -> str | None:
    """The key the request presents: header, query string, or (POST) the legacy body key."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return header.strip()
    key = request.GET.get("api_key") or None
    if key is None and request.method == "POST":
        key = _legacy_body_key(request)
    return key


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


def authenticate(presented: str | None) -> ApiKey:
    """The active key matching `presented`, or a 401."""
    if not presented:
        raise ApiError(401, "Unauthorized", headers=EMPTY_RATE_HEADERS)
    api_key = _lookup(ApiKey.prefix_of(presented))
    if api_key is None or not api_key.matches(presented):
        raise ApiError(401, f"Invalid API key: {presented[:80]}", headers=EMPTY_RATE_HEADERS)
    return api_key


def check_permission(api_key: ApiKey, permission: str) -> None:
    if not api_key.has_permission(permission):
        raise ApiError(403, "Access Denied", [f"this API key lacks the {permission} permission"])


def touch(api_key: ApiKey) -> None:
    """Record that the key was used (at most once per key and LAST_USED_RESOLUTION)."""
    # add() succeeds for one request per key and minute: that one writes last_used_at.
    if cache.add(f"apikey-used:{api_key.prefix}", 1, int(LAST_USED_RESOLUTION.total_seconds())):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
