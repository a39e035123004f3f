"""Rate limiters: slots spaced 1/rate apart, per process or shared through Redis."""

from __future__ import annotations

import os
import threading
import time

import pytest
import redis

from messaging.channels.limits import LocalSlots, RateLimiter, RedisSlots

# Tests may use Redis dbs 1 and 2 only.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/1"


def _redis():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"needs Redis at {REDIS_URL}")
    return client


def test_n_per_second_spreads_3n_messages_over_at_least_two_seconds():
    limiter = RateLimiter(10, "t", LocalSlots())
    started = time.monotonic()
    for _ in range(30):
        assert limiter()
    assert time.monotonic() - started >= 2.0


def test_no_slot_before_the_deadline_books_nothing():
    slots = LocalSlots()
    limiter = RateLimiter(2, "t", slots)
    assert limiter.reserve() == 0  # the first slot is now
    assert limiter.reserve(deadline=time.monotonic() + 0.1) is None  # the next is 0.5 s away
    assert limiter.reserve() == pytest.approx(0.5, abs=0.05)  # still the second slot
    assert not limiter.acquire(deadline=time.monotonic())


def test_keys_are_limited_apart():
    slots = LocalSlots()
    one, other = RateLimiter(1, "a", slots), RateLimiter(1, "b", slots)
    assert one.reserve() == 0 and other.reserve() == 0


def test_a_limit_booked_in_redis_holds_across_processes():
    client = _redis()
    key = f"test-{os.getpid()}-{time.monotonic_ns()}"
    # Two "processes": each its own client and limiter object, one schedule in Redis.
    limiters = [
        RateLimiter(10, key, RedisSlots(redis.Redis.from_url(REDIS_URL), prefix="herald:test:"))
        for _ in range(2)
    ]
    stamps: list[float] = []
    lock = threading.Lock()

    def send(limiter: RateLimiter) -> None:
        for _ in range(15):
            assert limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=send, args=(limiter,)) for limiter in limiters]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stamps) == 30
    assert max(stamps) - started >= 2.0
    client.delete(f"herald:test:{key}")


def test_an_unreachable_redis_falls_back_to_this_processs_slots():
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = RateLimiter(5, "t", RedisSlots(dead))
    assert limiter.reserve() == 0
    assert limiter.reserve() == pytest.approx(0.2, abs=0.05)
