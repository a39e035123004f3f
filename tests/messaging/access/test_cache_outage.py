"""A Redis outage at the API edge: key lookups fall back to the database, rate limits allow.

These tests start their own redis-server on a free port as the cache, and stop and start
it; the shared Redis is never touched.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from datetime import timedelta

import pytest
import redis
from django.core.cache import cache
from django.utils import timezone

from messaging.access import auth, cache_outage
from messaging.access.auth import LAST_USED_RESOLUTION
from messaging.models import ApiKey, Dispatch
from tests.conftest import missing

from ..channels.test_email_smtp import _free_port

pytestmark = pytest.mark.django_db

SMS = {"app_id": "a", "subscription_group_id": "g", "body": "Shipped"}


class PrivateRedis:
    """A throwaway redis-server, no persistence, that a test can stop and start again."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(settings, monkeypatch):
    if shutil.which("redis-server") is None:
        missing("cache outage tests need redis-server (apt-get install redis-server)")
    server = PrivateRedis()
    server.start()
    settings.CACHES = {"default": {
        "BACKEND": "config.cache.RedisCache",
        "LOCATION": server.url,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }}
    # After a failure the cache is left alone this long; short, so a test can see it back.
    monkeypatch.setattr(cache_outage, "RETRY_SECONDS", 0.2)
    cache_outage.reset()
    auth._local_touches.clear()  # primary keys repeat from test to test
    yield server
    server.stop()
    cache_outage.reset()
    auth._local_touches.clear()


def track(api, key=None):
    return api.post("/users/track", {"attributes": [{"external_id": "u1"}]}, key=key)


def send(api):
    return api.post("/messages/send", {"external_user_ids": ["user-1"],
                                       "messages": {"sms": SMS}})


def test_the_api_answers_while_redis_is_down(api, api_key, make_profile, private_redis,
                                             caplog):
    make_profile(phone="+15550001")
    assert track(api).status_code == 201  # the key is cached now
    assert cache.get(f"apikey:{api_key[0].prefix}")
    private_redis.stop()
    caplog.set_level(logging.WARNING, logger="herald.cache")

    tracked = track(api)
    assert tracked.status_code == 201, tracked.content
    sent = send(api)
    assert sent.status_code == 201, sent.content
    assert Dispatch.objects.filter(dispatch_id=sent.json()["dispatch_id"]).exists()
    # Rate limits are not counted, and the headers say so as Braze's 401s do: empty.
    assert tracked["X-RateLimit-Limit"] == "3000"
    assert tracked["X-RateLimit-Remaining"] == ""
    assert int(tracked["X-RateLimit-Reset"]) > time.time()
    # A bad key is still refused, from the database.
    refused = track(api, key=api_key[1][:-4] + "xxxx")
    assert refused.status_code == 401
    assert track(api, key="nonsense").status_code == 401
    # Many failing requests, one warning (at most one per minute per process).
    for _ in range(20):
        assert track(api).status_code == 201
        time.sleep(0.02)  # past RETRY_SECONDS now and then: Redis is really tried again
    warnings = [r for r in caplog.records if r.name == "herald.cache"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "cache unreachable" in warnings[0].getMessage()
    assert "rate limits are not enforced" in warnings[0].getMessage()


def test_a_key_revoked_during_the_outage_is_refused_at_once(api, api_key, private_redis,
                                                            caplog):
    from messaging.services.api_keys import api_key_revoke

    assert track(api).status_code == 201  # cached as valid
    private_redis.stop()
    with caplog.at_level(logging.ERROR, logger="herald.cache"):
        api_key_revoke(api_key=api_key[0])  # cannot drop the cached entry: logged, not raised
    assert any("could not be dropped" in r.getMessage() for r in caplog.records)
    assert track(api).status_code == 401


def test_last_used_at_is_still_written_once_a_minute(api, api_key, private_redis):
    private_redis.stop()
    ApiKey.objects.filter(pk=api_key[0].pk).update(last_used_at=None)
    assert track(api).status_code == 201
    first = ApiKey.objects.get(pk=api_key[0].pk).last_used_at
    assert first is not None
    old = timezone.now() - timedelta(hours=1)
    ApiKey.objects.filter(pk=api_key[0].pk).update(last_used_at=old)
    assert track(api).status_code == 201  # within the minute: not written again
    assert ApiKey.objects.get(pk=api_key[0].pk).last_used_at == old
    assert LAST_USED_RESOLUTION == timedelta(minutes=1)


def test_rate_limits_count_again_once_redis_is_back(api, private_redis, settings):
    settings.RATE_LIMITS = {"users.track": (3, 60)}
    private_redis.stop()
    for _ in range(5):  # more than the limit: allowed, as nothing can be counted
        assert track(api).status_code == 201
    private_redis.start()
    time.sleep(0.3)  # past RETRY_SECONDS: the next request tries Redis again
    answers = [track(api) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]


def test_a_refused_connection_fails_fast(api, private_redis):
    private_redis.stop()
    started = time.monotonic()
    for _ in range(10):
        assert track(api).status_code == 201
    assert time.monotonic() - started < 5


def test_other_cache_errors_are_not_swallowed(monkeypatch):
    def broken():
        raise ValueError("not an outage")

    with pytest.raises(ValueError):
        cache_outage.cache_call("a test", broken)
