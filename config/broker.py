"""kombu's Redis transport, with one publishing client per channel.

kombu's Redis channel builds a new `redis.Redis` for every message it publishes
(`Channel._create_client`, through `conn_or_acquire`), and building one fills its table
of ~170 response callbacks: on a send request that was about an eighth of Celery's
publish (profile of 2,000 apply_async calls). A client only wraps the channel's
connection pool and is thread-safe, so the channel keeps the first one it builds. The
asynchronous client (the consumer's BRPOP) is kombu's own, unchanged.

Used when the broker is Redis (config/settings.py sets CELERY_BROKER_TRANSPORT).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _publish_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        if self._publish_client is None:
            self._publish_client = super()._create_client()
        return self._publish_client


class Transport(kombu_redis.Transport):
    Channel = Channel
