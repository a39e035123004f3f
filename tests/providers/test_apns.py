"""The APNs adapter against a local HTTP/2 APNs (TLS, ALPN h2, ES256 provider tokens)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import jwt
import pytest

from messaging.channels import apns
from messaging.channels.base import Result
from tests.fakes.apns import make_p8

from .conftest import outgoing_maker

TOKEN = "ab" * 32
_item = outgoing_maker("m", TOKEN, {"alert": "Hello"})


@pytest.fixture
def adapter(connect_apns):
    return connect_apns()


def test_every_apple_push_field_reaches_apns(adapter, apns_fake):
    expiry = "2030-01-02T03:04:05Z"
    [outcome] = adapter.send_batch(
        [
            _item(
                alert={
                    "body": "Your order shipped",
                    "title": "Order",
                    "title_loc_key": "T_KEY",
                    "title_loc_args": ["a"],
                    "loc_key": "B_KEY",
                    "loc_args": ["b"],
                    "action_loc_key": "VIEW",
                },
                badge=3,
                sound="chime.caf",
                category="ORDER",
                notification_group_thread_id="orders",
                mutable_content=True,
                extra={"order_id": "42"},
                collapse_id="order-42",
                expiry=expiry,
                apns_priority=5,
                asset_url="https://cdn.example/p.jpg",
                asset_file_type="jpg",
                custom_uri="myapp://orders/42",
                use_webview=False,
                interruption_level="time-sensitive",
                relevance_score=0.5,
            )
        ]
    )
    assert outcome.result == Result.DELIVERED, outcome.provider_response
    [request] = apns_fake.requests
    assert request.path == f"/3/device/{TOKEN}"
    assert request.headers["apns-topic"] == "com.example.app"
    assert request.headers["apns-push-type"] == "alert"
    assert request.headers["apns-priority"] == "5"
    assert request.headers["apns-collapse-id"] == "order-42"
    assert request.headers["apns-expiration"] == str(
        int(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    )
    assert outcome.details["apns_id"] == request.headers["apns-id"]
    body = request.json()
    assert body["aps"]["alert"] == {
        "body": "Your order shipped",
        "title": "Order",
        "title-loc-key": "T_KEY",
        "title-loc-args": ["a"],
        "loc-key": "B_KEY",
        "loc-args": ["b"],
        "action-loc-key": "VIEW",
    }
    assert body["aps"]["badge"] == 3
    assert body["aps"]["sound"] == "chime.caf"
    assert body["aps"]["category"] == "ORDER"
    assert body["aps"]["thread-id"] == "orders"
    assert body["aps"]["mutable-content"] == 1
    assert body["aps"]["interruption-level"] == "time-sensitive"
    assert body["aps"]["relevance-score"] == 0.5
    assert "content-available" not in body["aps"]
    assert body["order_id"] == "42"
    assert body["ab"]["att"] == {"url": "https://cdn.example/p.jpg", "type": "jpg"}
    assert body["ab_uri"] == "myapp://orders/42"
    assert body["ab_use_webview"] is False


def test_background_push_uses_background_type_and_priority_5(adapter, apns_fake):
    [outcome] = adapter.send_batch([_item(**{"content-available": True, "extra": {"sync": 1}})])
    assert outcome.result == Result.DELIVERED
    [request] = apns_fake.requests
    assert request.headers["apns-push-type"] == "background"
    assert request.headers["apns-priority"] == "5"
    assert request.json()["aps"] == {"content-available": 1}


def test_sandbox_and_production_hosts(p8, http2_client):
    def host(sandbox):
        adapter = apns.ApnsAdapter(
            apns.ApnsConfig(
                team_id="T", key_id="K", topic="t", private_key=p8, use_sandbox_host=sandbox
            ),
            client=http2_client,
        )
        return adapter.base_url

    assert host(True) == "https://api.sandbox.push.apple.com"
    assert host(False) == "https://api.push.apple.com"


def test_a_batch_is_multiplexed_on_one_http2_connection(adapter, apns_fake):
    tokens = [f"{i:064x}" for i in range(60)]
    outcomes = adapter.send_batch([_item(t, i) for i, t in enumerate(tokens)])
    assert [o.result for o in outcomes] == [Result.DELIVERED] * 60
    assert sorted(d for d, _ in apns_fake.delivered) == sorted(tokens)
    assert len(apns_fake.connections()) == 1
    # The next batch reuses the same connection and the same provider token.
    adapter.send_batch([_item(tokens[0], 99)])
    assert len(apns_fake.connections()) == 1
    assert adapter.jwt_issued_count == 1


def test_unregistered_and_bad_tokens_are_invalidated(adapter, apns_fake):
    dead = "cd" * 32
    apns_fake.dead_tokens.add(dead)
    unregistered, bad, good = adapter.send_batch(
        [_item(dead, 1), _item("not-a-token", 2), _item(TOKEN, 3)]
    )
    assert (unregistered.result, unregistered.invalidate_address) == (Result.BOUNCED, True)
    assert unregistered.provider_response.startswith("410")
    assert "Unregistered" in unregistered.provider_response
    assert (bad.result, bad.invalidate_address) == (Result.BOUNCED, True)
    assert bad.details["reason"] == "BadDeviceToken"
    assert (good.result, good.invalidate_address) == (Result.DELIVERED, False)


def test_provider_token_is_es256_and_refreshed_before_expiry(adapter, apns_fake, p8):
    adapter.send_batch([_item()])
    first = apns_fake.requests[0].headers["authorization"].split()[1]
    header = jwt.get_unverified_header(first)
    assert header == {"alg": "ES256", "kid": "KEY1234567", "typ": "JWT"}
    # 50 minutes later the adapter signs a new token rather than let Apple refuse it.
    adapter._jwt_issued -= apns.TOKEN_LIFETIME
    adapter.send_batch([_item(n=1)])
    second = apns_fake.requests[1].headers["authorization"].split()[1]
    assert second != first
    assert adapter.jwt_issued_count == 2


def test_expired_provider_token_is_resigned_and_the_push_delivered(adapter, apns_fake):
    adapter.send_batch([_item()])
    apns_fake.script.append(
        (403, {"content-type": "application/json"}, b'{"reason":"ExpiredProviderToken"}')
    )
    [outcome] = adapter.send_batch([_item(n=1)])
    assert outcome.result == Result.DELIVERED
    assert adapter.jwt_issued_count == 2
    refused, accepted = apns_fake.requests[1:]
    assert refused.headers["authorization"] != accepted.headers["authorization"]


def test_5xx_is_retried_then_delivered(adapter, apns_fake):
    apns_fake.script.append(
        (503, {"content-type": "application/json"}, b'{"reason":"ServiceUnavailable"}')
    )
    [outcome] = adapter.send_batch([_item()])
    assert outcome.result == Result.DELIVERED
    assert len(apns_fake.requests) == 2
    assert len(apns_fake.delivered) == 1


def test_429_waits_for_retry_after(adapter, apns_fake):
    apns_fake.script.append(
        (
            429,
            {"retry-after": "1", "content-type": "application/json"},
            b'{"reason":"TooManyRequests"}',
        )
    )
    started = time.monotonic()
    [outcome] = adapter.send_batch([_item()])
    assert outcome.result == Result.DELIVERED
    gap = apns_fake.requests[1].at - apns_fake.requests[0].at
    assert gap >= 0.95
    assert time.monotonic() - started < 8  # waited for Retry-After, not for a backoff cap


def test_long_retry_after_is_handed_back_to_the_pipeline(adapter, apns_fake):
    apns_fake.script.append((503, {"retry-after": "120"}, b""))
    [outcome] = adapter.send_batch([_item()])
    assert outcome.result == Result.RETRY
    assert outcome.retry_after == pytest.approx(120)
    assert len(apns_fake.requests) == 1


def test_persistent_5xx_ends_as_retry_after_the_attempts(adapter, apns_fake):
    for _ in range(3):
        apns_fake.script.append((500, {}, b'{"reason":"InternalServerError"}'))
    [outcome] = adapter.send_batch([_item()])
    assert outcome.result == Result.RETRY
    assert len(apns_fake.requests) == 3
    assert apns_fake.delivered == []


def test_4xx_is_not_retried(adapter, apns_fake):
    apns_fake.script.append(
        (400, {"content-type": "application/json"}, b'{"reason":"BadCollapseId"}')
    )
    [outcome] = adapter.send_batch([_item()])
    assert outcome.result == Result.FAILED
    assert outcome.invalidate_address is False
    assert "BadCollapseId" in outcome.provider_response
    assert len(apns_fake.requests) == 1


def test_wrong_key_is_refused_by_apns(connect_apns):
    [outcome] = connect_apns(private_key=make_p8()).send_batch([_item()])
    assert outcome.result == Result.FAILED
    assert "InvalidProviderToken" in outcome.provider_response


def test_many_streams_refused_at_once_cause_a_single_new_token(adapter, apns_fake):
    # Our token is 48 minutes old, which APNs (here) already calls expired: every stream of
    # the batch is refused with the same token, and only one new token is signed.
    adapter.provider_token(now=time.time() - 48 * 60)
    apns_fake.max_token_age = 40 * 60
    outcomes = adapter.send_batch([_item(f"{i:064x}", i) for i in range(20)])
    assert all(o.result == Result.DELIVERED for o in outcomes)
    assert adapter.jwt_issued_count == 2


def test_a_wrong_topic_in_settings_fails_without_killing_tokens(connect_apns):
    [outcome] = connect_apns(topic="com.example.typo").send_batch([_item()])
    assert (outcome.result, outcome.invalidate_address) == (Result.FAILED, False)
    assert "DeviceTokenNotForTopic" in outcome.provider_response
