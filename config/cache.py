"""Django's Redis cache, with one client per connection pool, and atomic counters.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` for every operation,
and building one fills its table of ~300 response callbacks: on the API's hot path (a key
lookup, a rate-limit count) that was a fifth of the time spent talking to Redis. A client
is thread-safe and only wraps its pool (which redis-py resets itself after a fork), so one
per pool is enough.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(index)
            )
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient


def get_and_counter_add(
    get_key: str, counter_key: str, amount: int, timeout: int, *,
    alias: str = DEFAULT_CACHE_ALIAS,
) -> tuple[Any, int]:
    """`cache.get(get_key)` and `counter_add(counter_key, …)` in one round trip on Redis
    (an API request's key lookup and its rate-limit count); in two elsewhere."""
    cache = caches[alias]
    if not isinstance(cache, DjangoRedisCache):
        return cache.get(get_key), counter_add(counter_key, amount, timeout, alias=alias)
    full_get = cache.make_and_validate_key(get_key)
    full_counter = cache.make_and_validate_key(counter_key)
    pipeline = cache._cache.get_client(full_counter, write=True).pipeline(transaction=False)
    pipeline.get(full_get)
    pipeline.incrby(full_counter, amount)
    pipeline.expire(full_counter, timeout, nx=True)
    raw, value, _ = pipeline.execute()
    return (None if raw is None else cache._cache._serializer.loads(raw)), int(value)


def counter_add(key: str, amount: int, timeout: int, *, alias: str = DEFAULT_CACHE_ALIAS) -> int:
    """Add `amount` to the cache's counter at `key` (created with `timeout`); return the new
    value.

    On Redis this is one round trip (INCRBY and EXPIRE NX, pipelined, no transaction
    needed: each is atomic and the expiry is set only by whichever request creates the
    key). Elsewhere, the portable add-then-incr of Django's cache API.
    """
    cache = caches[alias]  # the backend itself (django.core.cache.cache is a proxy)
    if isinstance(cache, DjangoRedisCache):
        full_key = cache.make_and_validate_key(key)
        pipeline = cache._cache.get_client(full_key, write=True).pipeline(transaction=False)
        pipeline.incrby(full_key, amount)
        pipeline.expire(full_key, timeout, nx=True)
        value, _ = pipeline.execute()
        return int(value)
    # add() is atomic and only sets a missing key; incr() is atomic on every backend.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between add and incr
        cache.add(key, amount, timeout=timeout)
        return amount
