"""Per-provider rate limits: messages per second per SMTP relay, Twilio account, push app.

A limiter hands out send slots spaced `1 / rate` seconds apart. `reserve()` books the next
free slot and says how long to wait for it (or None, booking nothing, when that slot
comes after the caller's deadline); `acquire()` (also the limiter's `__call__`) books and
sleeps, for threads. Slots come from a `Slots` store: `LocalSlots` counts within this
process; `RedisSlots` books them in Redis with one atomic script, so every worker process
sending through the same relay or account shares one schedule. Both are plain objects
handed to the adapters by messaging.delivery.registry; nothing here reads settings.

Spacing instead of a per-second counter: a counter lets a whole second's quota out at
once on both sides of a window's edge (2N in a moment); spaced slots never exceed the
rate over any interval, so N/s sends 3N messages in at least (3N - 1) / N seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Slots(Protocol):
    def reserve(self, key: str, interval: float, max_wait: float | None) -> float | None:
        """Book the next slot of `key` (slots `interval` s apart): seconds until it, or None
        (nothing booked) when that is more than `max_wait` away."""
        ...


class LocalSlots:
    """Slots counted in this process (thread-safe): the limit holds per worker process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def reserve(self, key: str, interval: float, max_wait: float | None) -> float | None:
        with self._lock:
            now = time.monotonic()
            slot = max(self._next.get(key, 0.0), now)
            wait = slot - now
            if max_wait is not None and wait > max_wait:
                return None
            self._next[key] = slot + interval
            return wait


# KEYS[1]: the key; ARGV: interval (s), max wait (s, negative: none). The clock is Redis's
# own, so workers on hosts whose clocks differ still share one schedule. Returns the wait
# in seconds as a string (a Lua number would come back truncated to an integer), or "-1".
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local wait = slot - now
if max_wait >= 0 and wait > max_wait then return '-1' end
local ttl = math.ceil((wait + interval) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', ttl)
return string.format('%.6f', wait)
"""


class RedisSlots:
    """Slots booked in Redis, shared by every process using the same Redis.

    `client` is a redis-py client (given by the caller). When Redis cannot be reached the
    limiter falls back to this process's own slots for `pause` seconds and logs it (at
    most once a minute): a limiter outage must not stop or slow down deliveries.
    """

    def __init__(self, client: Any, *, prefix: str = "herald:rate:", pause: float = 5.0) -> None:
        self.client = client
        self.prefix = prefix
        self.pause = pause
        self.fallback = LocalSlots()
        self._script: Any = None
        self._warned = 0.0
        self._down_until = 0.0

    def reserve(self, key: str, interval: float, max_wait: float | None) -> float | None:
        if time.monotonic() < self._down_until:
            return self.fallback.reserve(key, interval, max_wait)
        try:
            if self._script is None:
                self._script = self.client.register_script(_RESERVE)
            answer = self._script(
                keys=[self.prefix + key],
                args=[f"{interval:.6f}", "-1" if max_wait is None else f"{max_wait:.6f}"],
            )
        except Exception as exc:  # noqa: BLE001 — any Redis failure: count locally instead
            self._down_until = time.monotonic() + self.pause
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning("rate limiter: Redis unavailable (%r), limiting per process", exc)
            return self.fallback.reserve(key, interval, max_wait)
        wait = float(answer)
        return None if wait < 0 else wait


class RateLimiter:
    """At most `rate` messages per second under `key`, across whoever shares `slots`."""

    def __init__(self, rate: float, key: str, slots: Slots) -> None:
        if rate <= 0:
            raise ValueError("a rate limit is a positive number of messages per second")
        self.rate, self.key, self.slots = rate, key, slots
        self.interval = 1.0 / rate

    def reserve(self, deadline: float | None = None) -> float | None:
        """Book a slot: seconds to wait for it, or None when it would come after `deadline`
        (a `time.monotonic()` value)."""
        max_wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self.slots.reserve(self.key, self.interval, max_wait)

    def acquire(self, deadline: float | None = None) -> bool:
        """Block until a slot is ours (True), or return False at once if none comes before
        `deadline`."""
        wait = self.reserve(deadline)
        if wait is None:
            return False
        if wait > 0:
            time.sleep(wait)
        return True

    __call__ = acquire

    def __repr__(self) -> str:
        return f"RateLimiter({self.rate:g}/s, {self.key!r})"
