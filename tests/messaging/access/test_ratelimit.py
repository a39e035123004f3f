"""Rate limits: X-RateLimit-* on every answer, 429 with Retry-After, per key and scope."""

from __future__ import annotations

import os
import time

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from config.settings import _rate_limits
from messaging.access import ratelimit
from tests.conftest import missing

pytestmark = pytest.mark.django_db

# CI gives the suite its own Redis database; locally this test uses database 12.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12"


def _clear_counters() -> None:
    """Forget rate-limit counters only: on Redis the database may also be Celery's broker."""
    from django.conf import settings

    config = settings.CACHES["default"]
    if config["BACKEND"].endswith("RedisCache"):
        import redis

        client = redis.Redis.from_url(config["LOCATION"])
        for key in client.scan_iter("*rl:*"):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_counters():
    _clear_counters()
    yield
    _clear_counters()


def track(api, key=None):
    return api.post("/users/track", {"attributes": [{"external_id": "r"}]}, key=key)


def test_headers_on_success_count_down_and_reset_on_the_window(api):
    first, second = track(api), track(api)
    assert first["X-RateLimit-Limit"] == "3000"
    assert int(first["X-RateLimit-Remaining"]) - int(second["X-RateLimit-Remaining"]) == 1
    reset = int(first["X-RateLimit-Reset"])
    now = time.time()
    assert now < reset <= now + 3 + 1 and reset % 3 == 0


def test_default_scope_is_hourly_and_aligned_on_the_hour(api):
    response = api.post("/email/status", {"email": "a@example.test",
                                          "subscription_state": "subscribed"})
    assert response["X-RateLimit-Limit"] == "250000"
    assert int(response["X-RateLimit-Reset"]) % 3600 == 0


@pytest.mark.parametrize("path, body, limit", [
    ("/users/alias/new", {"user_aliases": [{"alias_name": "a", "alias_label": "b"}]}, "20000"),
    ("/users/export/ids", {"external_ids": ["x"]}, "250"),
])
def test_scopes_have_braze_defaults(api, path, body, limit):
    assert api.post(path, body)["X-RateLimit-Limit"] == limit


def test_over_the_limit_is_429_with_retry_after(api, settings):
    settings.RATE_LIMITS = {"users.track": (2, 60)}
    assert track(api).status_code == 201
    assert track(api).status_code == 201
    response = track(api)
    assert response.status_code == 429
    assert response.json() == {"message": "Rate Limited"}
    assert response["X-RateLimit-Remaining"] == "0" and response["X-RateLimit-Limit"] == "2"
    assert 0 < int(response["Retry-After"]) <= 60
    assert int(response["X-RateLimit-Reset"]) - int(time.time()) <= 60


def test_limits_are_per_key_and_per_scope(api, make_api_key, settings):
    settings.RATE_LIMITS = {"users.track": (1, 60)}
    assert track(api).status_code == 201
    assert track(api).status_code == 429
    _, other_key = make_api_key(name="other")
    assert track(api, key=other_key).status_code == 201
    # Another scope of the same key still has room.
    response = api.post("/users/export/ids", {"external_ids": ["r"]})
    assert response.status_code == 201


def test_a_wrong_secret_under_a_real_prefix_does_not_spend_the_allowance(api, settings):
    # Keys are counted by their public prefix (looked up and counted in one round trip);
    # a request whose secret is wrong must give its count back.
    settings.RATE_LIMITS = {"users.track": (2, 60)}
    forged = api.key[:-4] + ("AAAA" if not api.key.endswith("AAAA") else "BBBB")
    assert [track(api, key=forged).status_code for _ in range(5)] == [401] * 5
    assert [track(api).status_code for _ in range(3)] == [201, 201, 429]


def test_rejected_request_writes_nothing(api, settings):
    from messaging.models import Profile

    settings.RATE_LIMITS = {"users.track": (1, 60)}
    track(api)
    api.post("/users/track", {"attributes": [{"external_id": "late"}]})
    assert not Profile.objects.filter(external_id="late").exists()


def test_rate_limits_setting_parses_env_syntax():
    assert _rate_limits("users.track=3000/3, default=250000/3600") == {
        "users.track": (3000, 3), "default": (250000, 3600)}
    assert _rate_limits("") == {}
    for bad in ("users.track=3000", "x=a/b", "=1/1", "y=0/5"):
        with pytest.raises(ImproperlyConfigured):
            _rate_limits(bad)


def test_unknown_scope_falls_back_to_default():
    assert ratelimit.limit_for("no.such.scope") == ratelimit.DEFAULT_LIMITS["default"]


def test_429_on_real_redis(api, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_URL}}
    try:
        cache.set("h2-ping", 1, 5)
        assert cache.get("h2-ping") == 1
    except Exception as exc:  # noqa: BLE001 — any connection failure means "no Redis here"
        missing(f"Redis at {REDIS_URL} unreachable: {exc}")
    _clear_counters()
    settings.RATE_LIMITS = {"users.track": (3, 30)}
    statuses = [track(api).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    # The counter lives in Redis, with an expiry just past the window.
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = [k for k in client.keys("*rl:users.track:*")]
    assert len(keys) == 1
    assert int(client.get(keys[0])) == 4
    assert 0 < client.ttl(keys[0]) <= 35
    _clear_counters()
