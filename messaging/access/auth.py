"""API key authentication: the key a request presents, looked up through the cache.

A key arrives as `Authorization: Bearer KEY` (or the bare key), or — from clients written
before May 2020 — as `api_key` in the JSON body (spec §2.2; older releases of the
braze-client package for Python send it there, so it stays). `api_key` in the query string
is refused with a 401 that says to use the header: a URL is written to every access log,
so a key in it would leak.

NOTE: no answer and no log line ever holds a presented key: a refusal names it by its
public prefix only (`public_prefix`), as the dashboard's key list does.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import timedelta

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from config.api import ApiError
from config.api.body import loads
from config.api.validation import text_problem
from config.cache import get_and_counter_add

from ..models import ApiKey
from ..models.keys import KEY_PREFIX
from . import ratelimit
from .cache_outage import CacheUnavailable, cache_call

log = logging.getLogger("herald.cache")

# Braze's 401s carry the rate-limit headers, empty, as the key is unknown (spec §2.5).
EMPTY_RATE_HEADERS = {"X-RateLimit-Limit": "", "X-RateLimit-Remaining": "", "X-RateLimit-Reset": ""}
# The refusal of a key in the query string: where to put it instead.
QUERY_KEY_REFUSED = ("API keys are not accepted in the query string (api_key): "
                     "send the key in the Authorization: Bearer header")
# last_used_at is written at most this often per key, to keep writes off the hot path.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long a key lookup is cached (keys are immutable but for revocation, see _lookup).
KEY_CACHE_SECONDS = 60


def presented_key(request: HttpRequest) -> str | None:
    """The key the request presents: header or (POST) the legacy body key; a 401 for a
    key in the query string."""
    if "api_key" in request.GET:
        raise ApiError(401, QUERY_KEY_REFUSED, headers=EMPTY_RATE_HEADERS)
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return header.strip()
    if request.method == "POST":
        return _legacy_body_key(request)
    return None


def _legacy_body_key(request: HttpRequest) -> str | None:
    """`api_key` in a JSON body: accepted from clients written before May 2020 (spec §2.2)."""
    try:
        data, _ = loads(request.body or b"{}")
    except (ValueError, RecursionError):  # not JSON: the body is refused after the key
        return None
    value = data.get("api_key") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def public_prefix(presented: str) -> str:
    """What a refusal may say of a presented key: its public prefix, never the secret.

    A Herald key is `hrld_` and 43 random characters, of which the first 12 characters
    are the public prefix shown in the dashboard. Anything else (another system's key, a
    typo) is not echoed at all.
    """
    prefix = ApiKey.prefix_of(presented)
    if not presented.startswith(KEY_PREFIX) or not prefix.isprintable():
        return ""
    return prefix + ("…" if len(presented) > len(prefix) else "")


def key_cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


def forget_key(prefix: str) -> None:
    """Drop a key's cached lookup (called when a key is created or revoked).

    With the cache unreachable there is nothing to drop now: lookups read the database
    meanwhile. A cache that comes back with its old data (persistence on, an outage
    shorter than KEY_CACHE_SECONDS) may still hold the entry until it expires, at most
    KEY_CACHE_SECONDS: that is logged as an error, as it can delay a revocation.
    """
    try:
        cache_call("forgetting a cached API key", lambda: cache.delete(key_cache_key(prefix)),
                   always_try=True)
    except CacheUnavailable:
        log.error("cache unreachable: the cached lookup of API key %s… could not be dropped; "
                  "it expires within %d s of the cache's return", prefix, KEY_CACHE_SECONDS)


def _key_row(prefix: str) -> dict | None:
    return (ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True)
            .values("id", "name", "digest", "permissions", "allowed_networks").first())


def _lookup(prefix: str) -> ApiKey | None:
    """The active key with this prefix, from the cache when possible.

    NOTE: revocation through the service (dashboard, admin action) clears the entry at
    once; a row changed behind its back (raw SQL, shell) is seen within KEY_CACHE_SECONDS.
    With the cache unreachable every lookup reads the database (one indexed query).
    """
    cache_key = key_cache_key(prefix)
    try:
        cached = cache_call("an API key lookup", lambda: cache.get(cache_key))
    except CacheUnavailable:
        return _key_of(prefix, _key_row(prefix) or {})
    return _key_of(prefix, _filled(prefix, cached))


def _filled(prefix: str, cached: dict | None) -> dict:
    """A cached lookup, read from the database (and cached) on a miss."""
    if cached is not None:
        return cached
    # Misses are cached too ({}), so a flood of made-up keys costs no queries.
    row = _key_row(prefix) or {}
    try:
        cache_call("caching an API key lookup",
                   lambda: cache.set(key_cache_key(prefix), row, KEY_CACHE_SECONDS))
    except CacheUnavailable:
        pass  # read from the database again next time
    return row


def _key_of(prefix: str, row: dict) -> ApiKey | None:
    if not row:
        return None
    api_key = ApiKey(prefix=prefix, **row)
    api_key._state.adding = False
    api_key._state.db = "default"
    return api_key


def _screen(presented: str | None) -> str:
    """The presented key if it may be looked up at all, or a 401."""
    if not presented:
        raise ApiError(401, "Unauthorized", headers=EMPTY_RATE_HEADERS)
    # A Herald key is printable ASCII: anything else (a NUL or a lone surrogate PostgreSQL
    # could not look up, a control character no cache key may hold) is refused unseen.
    if text_problem(presented) or not (presented.isascii() and presented.isprintable()):
        raise ApiError(401, "Invalid API key", headers=EMPTY_RATE_HEADERS)
    return presented


# What the public prefix of a key Herald made can hold (ApiKey.generate: "hrld_" and
# URL-safe base64). A prefix of any other shape names no key: it is refused unlooked-up,
# and never becomes part of a cache key (which must stay portable: no spaces).
_PREFIX_SHAPE = re.compile(r"[A-Za-z0-9_-]{12}")


def _prefix(presented: str) -> str:
    prefix = ApiKey.prefix_of(presented)
    if not _PREFIX_SHAPE.fullmatch(prefix):
        raise _refused(presented)
    return prefix


def _refused(presented: str) -> ApiError:
    shown = public_prefix(presented)
    message = f"Invalid API key: {shown}" if shown else "Invalid API key"
    return ApiError(401, message, headers=EMPTY_RATE_HEADERS)


def authenticate(presented: str | None) -> ApiKey:
    """The active key matching `presented`, or a 401."""
    presented = _screen(presented)
    api_key = _lookup(_prefix(presented))
    if api_key is None or not api_key.matches(presented):
        raise _refused(presented)
    return api_key


def authenticate_counted(presented: str | None, *, scope: str
                         ) -> tuple[ApiKey, ratelimit.Window, int | None]:
    """`authenticate`, and the request counted in the key's rate-limit window of `scope`:
    one round trip to Redis for both (the lookup of a cached key, the count).

    Returns (key, window, count); the count is None while the cache is unreachable (then
    the key is read from the database, as `authenticate` does). A request whose key
    turns out wrong is taken back off the count, so that a stranger who knows a key's
    public prefix cannot spend its allowance.
    """
    presented = _screen(presented)
    prefix = _prefix(presented)
    current = ratelimit.window(key=prefix, scope=scope)
    try:
        cached, used = cache_call(
            "an API key lookup and rate count",
            lambda: get_and_counter_add(key_cache_key(prefix), current.cache_key, 1,
                                        current.timeout),
        )
    except CacheUnavailable:
        return authenticate(presented), current, None
    api_key = _key_of(prefix, _filled(prefix, cached))
    if api_key is None or not api_key.matches(presented):
        ratelimit.uncount(current)
        raise _refused(presented)
    return api_key, current, used


def check_permission(api_key: ApiKey, permission: str) -> None:
    if not api_key.has_permission(permission):
        raise ApiError(403, "Access Denied", [f"this API key lacks the {permission} permission"])


# Each process throttles its own last_used_at writes first (monotonic time of the last
# write per key), so a request costs no cache round trip for this but once a minute; the
# cache then lets one process of all write. Without the cache, N processes write at most N
# times per key and minute.
_local_touches: dict[int, float] = {}
_local_touches_lock = threading.Lock()


def _touch_locally(api_key: ApiKey) -> bool:
    now = time.monotonic()
    with _local_touches_lock:
        last = _local_touches.get(api_key.pk)
        if last is not None and now - last < LAST_USED_RESOLUTION.total_seconds():
            return False
        if len(_local_touches) > 10_000:  # bounded: keys are few, but never grow forever
            _local_touches.clear()
        _local_touches[api_key.pk] = now
        return True


def touch(api_key: ApiKey) -> None:
    """Record that the key was used (at most once per key and LAST_USED_RESOLUTION)."""
    if not _touch_locally(api_key):
        return
    seconds = int(LAST_USED_RESOLUTION.total_seconds())
    try:
        # add() succeeds for one request per key and minute: that one writes last_used_at.
        due = cache_call("throttling last_used_at",
                         lambda: cache.add(f"apikey-used:{api_key.prefix}", 1, seconds))
    except CacheUnavailable:
        due = True  # this process's own throttle said so
    if due:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
