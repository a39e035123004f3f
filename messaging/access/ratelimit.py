"""Fixed-window rate limits per API key and scope, counted in the cache (Redis when set).

Windows are aligned on the clock (the hour starts on the hour), as Braze's recorded
X-RateLimit-Reset shows (spec §2.5). A key is counted by its public prefix, which a
request names before its key is looked up: the API edge reads the key and counts the
request in one round trip to Redis (auth.authenticate_counted).

With the cache unreachable, requests are allowed (a Redis outage must not take the API
down) and the answer says so in Braze's own terms: `X-RateLimit-Limit` and
`X-RateLimit-Reset` as usual, `X-RateLimit-Remaining` empty, as Braze sends it on a 401,
so any client written against Braze already copes with it. cache_outage logs the outage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from config.api import ApiError
from config.cache import counter_add

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
    # /messages/schedule/create|update|delete and /messages/scheduled_broadcasts share one.
    "messages.schedule": Limit(250_000, 3600),
    "users.track": Limit(3_000, 3),
    "users.profiles": Limit(20_000, 60),
    "users.export.ids": Limit(250, 60),
    "users.external_ids": Limit(1_000, 60),
    "subscription.status.set": Limit(5_000, 60),
    "campaigns.data_series": Limit(50_000, 60),
    "sends.id.create": Limit(100, 86_400),
    # The web SDK (messaging.sdk), Herald's own: Braze publishes no SDK limits. Per public
    # key, all its visitors together; per client address, one visitor (or one office).
    "sdk": Limit(100_000, 60),
    "sdk.address": Limit(600, 60),
}


def limit_for(scope: str) -> Limit:
    overrides = getattr(settings, "RATE_LIMITS", {}) or {}
    if scope in overrides:
        requests, seconds = overrides[scope]
        return Limit(int(requests), int(seconds))
    return DEFAULT_LIMITS.get(scope, DEFAULT_LIMITS["default"])


@dataclass(frozen=True)
class Window:
    """The current window of a key's counter in a scope."""

    limit: Limit
    now: int
    reset: int
    cache_key: str

    @property
    def timeout(self) -> int:
        return self.limit.seconds + 5  # the counter outlives its window a little

    def unknown(self) -> dict[str, str]:
        """The headers while the counter cannot be read (the cache is unreachable)."""
        return {"X-RateLimit-Limit": str(self.limit.requests),
                "X-RateLimit-Remaining": UNKNOWN_REMAINING,
                "X-RateLimit-Reset": str(self.reset)}

    def answer(self, used: int) -> dict[str, str]:
        """The X-RateLimit-* headers for a count of `used`, or a 429 carrying them."""
        headers = {
            "X-RateLimit-Limit": str(self.limit.requests),
            "X-RateLimit-Remaining": str(max(self.limit.requests - used, 0)),
            "X-RateLimit-Reset": str(self.reset),
        }
        if used > self.limit.requests:
            raise ApiError(429, "Rate Limited",
                           headers={**headers, "Retry-After": str(self.reset - self.now)})
        return headers


def window(*, key: str, scope: str) -> Window:
    """The window counting `key` (an API key's public prefix) in `scope`, now."""
    limit = limit_for(scope)
    now = int(time.time())
    start = now - now % limit.seconds
    return Window(limit=limit, now=now, reset=start + limit.seconds,
                  cache_key=f"rl:{scope}:{key}:{start}")


def hit(*, key: str, scope: str, cost: int = 1) -> dict[str, str]:
    """Count one request of `key` (an API key's public prefix); return the X-RateLimit-*
    headers, or raise a 429 carrying them."""
    current = window(key=key, scope=scope)
    try:
        used = cache_call("counting a rate limit",
                          lambda: counter_add(current.cache_key, cost, current.timeout))
    except CacheUnavailable:
        return current.unknown()
    return current.answer(used)


def uncount(current: Window, cost: int = 1) -> None:
    """Take back a count (a request whose key turned out wrong): best effort."""
    try:
        cache_call("taking back a rate-limit count",
                   lambda: counter_add(current.cache_key, -cost, current.timeout))
    except CacheUnavailable:
        pass  # the window ends soon enough
