"""Fixed-window rate limits per API key and scope, counted in the cache (Redis when set).

Windows are aligned on the clock (the hour starts on the hour), as Braze's recorded
X-RateLimit-Reset shows (spec §2.5).

With the cache unreachable, requests are allowed (a Redis outage must not take the API
down) and the answer says so in Braze's own terms: `X-RateLimit-Limit` and
`X-RateLimit-Reset` as usual, `X-RateLimit-Remaining` empty, as Braze sends it on a 401,
so any client written against Braze already copes with it. cache_outage logs the outage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from config.api import ApiError

from .cache_outage import CacheUnavailable, cache_call

# X-RateLimit-Remaining while the counters cannot be read (the cache is unreachable).
UNKNOWN_REMAINING = ""


@dataclass(frozen=True)
class Limit:
    requests: int
    seconds: int


# Braze's published defaults (spec §2.6, §3b); RATE_LIMITS in settings overrides any.
DEFAULT_LIMITS: dict[str, Limit] = {
    "default": Limit(250_000, 3600),
    "messages.send": Limit(250_000, 3600),
    "messages.send.broadcast": Limit(250, 60),
    "users.track": Limit(3_000, 3),
    "users.profiles": Limit(20_000, 60),
    "users.export.ids": Limit(250, 60),
    "subscription.status.set": Limit(5_000, 60),
    "campaigns.data_series": Limit(50_000, 60),
    "sends.id.create": Limit(100, 86_400),
}


def limit_for(scope: str) -> Limit:
    overrides = getattr(settings, "RATE_LIMITS", {}) or {}
    if scope in overrides:
        requests, seconds = overrides[scope]
        return Limit(int(requests), int(seconds))
    return DEFAULT_LIMITS.get(scope, DEFAULT_LIMITS["default"])


def hit(*, key_id: int, scope: str, cost: int = 1) -> dict[str, str]:
    """Count one request; return the X-RateLimit-* headers, or raise a 429 carrying them."""
    limit = limit_for(scope)
    now = int(time.time())
    window_start = now - now % limit.seconds
    reset = window_start + limit.seconds
    cache_key = f"rl:{scope}:{key_id}:{window_start}"
    try:
        used = cache_call("counting a rate limit",
                          lambda: _count(cache_key, cost, limit.seconds + 5))
    except CacheUnavailable:
        return {"X-RateLimit-Limit": str(limit.requests),
                "X-RateLimit-Remaining": UNKNOWN_REMAINING, "X-RateLimit-Reset": str(reset)}
    headers = {
        "X-RateLimit-Limit": str(limit.requests),
        "X-RateLimit-Remaining": str(max(limit.requests - used, 0)),
        "X-RateLimit-Reset": str(reset),
    }
    if used > limit.requests:
        raise ApiError(429, "Rate Limited", headers={**headers, "Retry-After": str(reset - now)})
    return headers


def _count(cache_key: str, cost: int, timeout: int) -> int:
    """Add `cost` to the window's counter; return the new count."""
    # add() is atomic and only sets a missing key; incr() is atomic on Redis.
    cache.add(cache_key, 0, timeout=timeout)
    try:
        return cache.incr(cache_key, cost)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, cost, timeout=timeout)
        return cost
