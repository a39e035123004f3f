"""The SMS/MMS adapter against a local Twilio-compatible Messages API."""

from __future__ import annotations

import base64
import time

import pytest

from messaging.channels.base import Result
from messaging.channels.limits import LocalSlots, RateLimiter

from .conftest import SMS_GROUP as GROUP
from .conftest import outgoing_maker

_item = outgoing_maker("s", "+15557654321", {"body": "Hi", "subscription_group_id": GROUP})


@pytest.fixture
def adapter(connect_twilio):
    return connect_twilio(
        senders={GROUP: "+15550001111", "mms-group": "MG" + "a" * 32},
        status_callback=lambda message_id: f"https://herald.test/cb/{message_id}",
    )


def test_sms_goes_from_the_groups_number_with_basic_auth_and_status_callback(adapter, twilio_fake):
    [outcome] = adapter.send_batch([_item(body="Your code is 1234", subscription_group_id=GROUP)])
    assert outcome.result == Result.DELIVERED, outcome.provider_response
    assert outcome.details["sid"].startswith("SM")
    [request] = twilio_fake.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio_fake.account_sid}/Messages.json"
    user, _, password = (
        base64.b64decode(request.headers["authorization"].split()[1]).decode().partition(":")
    )
    assert (user, password) == (twilio_fake.account_sid, twilio_fake.auth_token)
    [form] = twilio_fake.sent
    assert form["To"] == ["+15557654321"]
    assert form["From"] == ["+15550001111"]
    assert form["Body"] == ["Your code is 1234"]
    assert form["StatusCallback"] == [f"https://herald.test/cb/s{0:031d}"]


def test_mms_media_items_and_messaging_service_sender(adapter, twilio_fake):
    [outcome] = adapter.send_batch(
        [
            _item(
                body="Look",
                subscription_group_id="mms-group",
                media_items=["https://cdn.test/a.jpg", "https://cdn.test/b.gif"],
            )
        ]
    )
    assert outcome.result == Result.DELIVERED
    [form] = twilio_fake.sent
    assert form["MediaUrl"] == ["https://cdn.test/a.jpg", "https://cdn.test/b.gif"]
    assert form["MessagingServiceSid"] == ["MG" + "a" * 32]
    assert "From" not in form


def test_group_without_sender_fails_without_a_request(adapter, twilio_fake):
    [outcome] = adapter.send_batch([_item(body="x", subscription_group_id="unknown-group")])
    assert outcome.result == Result.FAILED
    assert "unknown-group" in outcome.provider_response
    assert twilio_fake.requests == []


def test_invalid_and_non_mobile_numbers_are_invalidated(adapter, twilio_fake):
    twilio_fake.unreachable.add("+15550009999")
    bad, landline, ok = adapter.send_batch(
        [_item("555-1234", 1), _item("+15550009999", 2), _item(n=3)]
    )
    assert (bad.result, bad.invalidate_address, bad.details["code"]) == (
        Result.BOUNCED,
        True,
        21211,
    )
    assert (landline.result, landline.invalidate_address) == (Result.BOUNCED, True)
    assert ok.result == Result.DELIVERED


def test_retries_on_429_and_500_not_on_400(adapter, twilio_fake):
    twilio_fake.script.append(
        (429, {"retry-after": "1"}, b'{"code": 20429, "message": "Too Many Requests"}')
    )
    twilio_fake.script.append((500, {}, b'{"code": 20500, "message": "Internal"}'))
    [outcome] = adapter.send_batch([_item()])
    assert outcome.result == Result.DELIVERED
    assert len(twilio_fake.requests) == 3
    assert len(twilio_fake.sent) == 1
    assert twilio_fake.requests[1].at - twilio_fake.requests[0].at >= 0.95
    twilio_fake.script.append(
        (400, {}, b'{"code": 21408, "message": "Permission to send an SMS has not been enabled"}')
    )
    [outcome] = adapter.send_batch([_item(n=1)])
    assert outcome.result == Result.FAILED
    assert "21408" in outcome.provider_response
    assert len(twilio_fake.requests) == 4


def test_wrong_auth_token_fails(connect_twilio):
    [outcome] = connect_twilio(auth_token="wrong").send_batch([_item()])
    assert outcome.result == Result.FAILED
    assert "20003" in outcome.provider_response


def test_a_batch_reuses_pooled_connections(adapter, twilio_fake):
    outcomes = adapter.send_batch([_item(f"+1555000{i:04d}", i) for i in range(80)])
    assert all(o.result == Result.DELIVERED for o in outcomes)
    adapter.send_batch([_item(f"+1555100{i:04d}", 100 + i) for i in range(80)])
    # 160 messages over at most the pool's 20 keep-alive connections.
    assert len(twilio_fake.connections()) <= 20


def test_an_account_rate_limit_spreads_3n_messages_over_two_seconds(connect_twilio, twilio_fake):
    rate = 10
    adapter = connect_twilio(limiter=RateLimiter(rate, "twilio:test", LocalSlots()))
    outcomes = adapter.send_batch(
        [_item(f"+1555000{n:04d}", n) for n in range(3 * rate)], deadline=time.monotonic() + 30
    )
    assert [o.result for o in outcomes] == [Result.DELIVERED] * (3 * rate)
    arrivals = sorted(r.at for r in twilio_fake.requests)
    assert arrivals[-1] - arrivals[0] >= 2.0


def test_no_rate_slot_before_the_deadline_is_a_retry_not_attempted(connect_twilio, twilio_fake):
    adapter = connect_twilio(limiter=RateLimiter(2, "twilio:test2", LocalSlots()))
    outcomes = adapter.send_batch(
        [_item(f"+1555000{n:04d}", n) for n in range(4)], deadline=time.monotonic() + 0.2
    )
    assert [(o.result, o.attempted) for o in outcomes] == [(Result.DELIVERED, True)] + [
        (Result.RETRY, False)
    ] * 3
    assert len(twilio_fake.requests) == 1
