"""The FCM HTTP v1 adapter against a local FCM with its OAuth 2 token endpoint."""

from __future__ import annotations

import json

import jwt
import pytest

from messaging.channels.base import Result
from tests.fakes.fcm import make_service_account

from .conftest import outgoing_maker

_item = outgoing_maker("f", "fcm-token-1", {"alert": "Hi", "title": "T"})


@pytest.fixture
def adapter(connect_fcm):
    return connect_fcm()


def test_android_push_fields_are_mapped_to_fcm_v1(adapter, fcm_fake):
    [outcome] = adapter.send_batch(
        [
            _item(
                alert="Your order shipped",
                title="Order",
                extra={"order_id": 42, "appboy_image_url": "https://i/x.png"},
                notification_channel_id="orders",
                priority=2,
                android_priority="high",
                collapse_key="order",
                sound="default",
                custom_uri="myapp://o/42",
                time_to_live=3600,
                accent_color=0x3B38C8,
                summary_text="1 new",
                notification_id=7,
            )
        ]
    )
    assert outcome.result == Result.DELIVERED, outcome.provider_response
    assert outcome.details["name"].startswith("projects/herald-test/messages/")
    [request] = [r for r in fcm_fake.requests if r.path != "/token"]
    assert request.path == "/v1/projects/herald-test/messages:send"
    message = request.json()["message"]
    assert message["token"] == "fcm-token-1"
    assert message["notification"] == {
        "title": "Order",
        "body": "Your order shipped",
        "image": "https://i/x.png",
    }
    assert message["android"] == {
        "priority": "HIGH",
        "ttl": "3600s",
        "collapse_key": "order",
        "notification": {
            "channel_id": "orders",
            "sound": "default",
            "notification_priority": "PRIORITY_MAX",
            "color": "#3b38c8",
            "tag": "7",
        },
    }
    # Data values are strings on the wire; structured extras arrive as JSON.
    assert message["data"]["order_id"] == "42"
    assert message["data"]["uri"] == "myapp://o/42"
    assert message["data"]["summary_text"] == "1 new"


def test_send_to_sync_is_a_data_only_message(adapter, fcm_fake):
    [outcome] = adapter.send_batch([_item(send_to_sync=True, extra={"refresh": True})])
    assert outcome.result == Result.DELIVERED
    message = fcm_fake.delivered[0]
    assert "notification" not in message
    assert message["data"] == {"refresh": "true", "herald_message_id": "f" + "0" * 31}


def test_oauth_token_is_fetched_once_and_cached(adapter, fcm_fake):
    outcomes = adapter.send_batch([_item(f"t{i}", i) for i in range(40)])
    assert all(o.result == Result.DELIVERED for o in outcomes)
    adapter.send_batch([_item("again", 99)])
    assert fcm_fake.token_requests == 1
    token_request = next(r for r in fcm_fake.requests if r.path == "/token")
    assertion = dict(p.split("=", 1) for p in token_request.body.decode().split("&"))["assertion"]
    assert jwt.get_unverified_header(assertion)["alg"] == "RS256"
    send = next(r for r in fcm_fake.requests if r.path != "/token")
    assert send.headers["authorization"].startswith("Bearer ya29.")


def test_token_is_refreshed_when_it_expires(adapter, fcm_fake):
    fcm_fake.token_lifetime = 30  # shorter than the 60 s safety margin: always stale
    adapter.send_batch([_item(n=1)])
    adapter.send_batch([_item(n=2)])
    assert fcm_fake.token_requests == 2


def test_revoked_token_gets_a_401_then_a_fresh_token(adapter, fcm_fake):
    adapter.send_batch([_item(n=1)])
    fcm_fake.tokens.clear()  # Google revoked every token
    [outcome] = adapter.send_batch([_item(n=2)])
    assert outcome.result == Result.DELIVERED
    assert fcm_fake.token_requests == 2


def test_unregistered_token_is_invalidated(adapter, fcm_fake):
    fcm_fake.dead_tokens.add("gone")
    gone, ok = adapter.send_batch([_item("gone", 1), _item("ok", 2)])
    assert (gone.result, gone.invalidate_address) == (Result.BOUNCED, True)
    assert gone.details["error_code"] == "UNREGISTERED"
    assert (ok.result, ok.invalidate_address) == (Result.DELIVERED, False)


def test_quota_429_honours_retry_after_and_4xx_is_final(adapter, fcm_fake):
    adapter.send_batch([_item(n=0)])  # token fetched
    fcm_fake.script.append(
        (
            429,
            {"retry-after": "1"},
            json.dumps({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}).encode(),
        )
    )
    [outcome] = adapter.send_batch([_item(n=1)])
    assert outcome.result == Result.DELIVERED
    sends = [r for r in fcm_fake.requests if r.path != "/token"]
    assert sends[2].at - sends[1].at >= 0.95

    fcm_fake.script.append(
        (
            400,
            {},
            json.dumps(
                {
                    "error": {
                        "code": 400,
                        "status": "INVALID_ARGUMENT",
                        "details": [{"errorCode": "INVALID_ARGUMENT"}],
                    }
                }
            ).encode(),
        )
    )
    before = len(fcm_fake.requests)
    [outcome] = adapter.send_batch([_item(n=2)])
    assert outcome.result == Result.FAILED
    assert outcome.invalidate_address is False
    assert len(fcm_fake.requests) == before + 1


def test_bad_service_account_key_fails_without_sending(connect_fcm, fcm_fake):
    wrong = make_service_account()  # a key Google does not know for this account
    wrong["token_uri"] = fcm_fake.account["token_uri"]
    [outcome] = connect_fcm(service_account=wrong).send_batch([_item()])
    assert outcome.result == Result.FAILED
    assert "invalid_grant" in outcome.provider_response
    assert fcm_fake.delivered == []
