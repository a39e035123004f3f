"""The API edge's use of the cache (Redis in production), made to survive its outage.

Key lookups, rate-limit counters and last-used throttling live in the cache. When it is
unreachable, the edge keeps answering: lookups go to the database, rate limits allow
(see ratelimit.hit), last-used writes are throttled per process instead. Only the errors
a cache backend raises when it cannot be reached are caught (CACHE_ERRORS); anything
else (a bug, a bad value) still fails loudly.

After a failure the cache is left alone for RETRY_SECONDS in this process, so a Redis that
hangs (a dead host, not a refused connection) costs one socket timeout per process and
RETRY_SECONDS, not one per cache call of every request. The warning is logged at most
once per WARN_EVERY_SECONDS per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis.exceptions

log = logging.getLogger("herald.cache")

# What django.core.cache.backends.redis.RedisCache raises when Redis cannot be reached:
# redis-py wraps refused and reset connections, DNS failures and socket timeouts in these
# two (BusyLoadingError, a Redis still loading its data, is a ConnectionError). The other
# configured backend, LocMemCache, cannot be unreachable.
CACHE_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
RETRY_SECONDS = 5.0
WARN_EVERY_SECONDS = 60.0

T = TypeVar("T")


class CacheUnavailable(Exception):
    """The cache could not be reached (now, or moments ago): use the fallback."""


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.last_warning = float("-inf")
        self.suppressed = 0


_state = _State()


def reset() -> None:
    """Forget any recorded outage (tests, or after an operator fixed the cache)."""
    global _state
    _state = _State()


def _record_failure(what: str, error: BaseException) -> None:
    now = time.monotonic()
    with _state.lock:
        _state.down_until = now + RETRY_SECONDS
        if now - _state.last_warning < WARN_EVERY_SECONDS:
            _state.suppressed += 1
            return
        suppressed, _state.suppressed = _state.suppressed, 0
        _state.last_warning = now
    log.warning(
        "cache unreachable (%s: %s) during %s: API keys are read from the database and "
        "rate limits are not enforced until it is back (%d cache calls failed or skipped "
        "since the last warning; next warning in %.0f s at the earliest)",
        type(error).__name__, error, what, suppressed, WARN_EVERY_SECONDS,
    )


def cache_call(what: str, call: Callable[[], T], *, always_try: bool = False) -> T:
    """`call()`, or CacheUnavailable when the cache is (or was just seen) unreachable.

    `always_try` calls the cache even within RETRY_SECONDS of a failure (for rare calls
    that matter, such as dropping a revoked key's entry).
    """
    if not always_try and time.monotonic() < _state.down_until:
        with _state.lock:
            _state.suppressed += 1
        raise CacheUnavailable(what)
    try:
        return call()
    except CACHE_ERRORS as error:
        _record_failure(what, error)
        raise CacheUnavailable(what) from error
