"""The ADM adapter against a local Amazon Device Messaging server."""

from __future__ import annotations

import pytest

from messaging.channels.base import Result

from .conftest import outgoing_maker

_item = outgoing_maker("k", "amzn1.adm-registration.v3.A", {"alert": "Hi", "title": "T"})


@pytest.fixture
def adapter(connect_adm):
    return connect_adm()


def test_kindle_push_fields_are_mapped(adapter, adm_fake):
    [outcome] = adapter.send_batch(
        [
            _item(
                alert="Sale",
                title="Today",
                extra={"sku": 12},
                collapse_key="sale",
                sound="default",
                custom_uri="https://x.test/s",
                priority=5,
            )
        ]
    )
    assert outcome.result == Result.DELIVERED, outcome.provider_response
    [send] = [r for r in adm_fake.requests if r.path != "/auth/o2/token"]
    assert send.path == "/messaging/registrations/amzn1.adm-registration.v3.A/messages"
    assert send.headers["x-amzn-type-version"] == "com.amazon.device.messaging.ADMMessage@1.0"
    assert send.headers["x-amzn-accept-type"] == "com.amazon.device.messaging.ADMSendResult@1.0"
    message = send.json()
    assert message["consolidationKey"] == "sale"
    assert message["data"] == {
        "herald_message_id": "k" + "0" * 31,
        "sku": "12",
        "title": "Today",
        "alert": "Sale",
        "uri": "https://x.test/s",
        "sd": "default",
        "p": "0",
    }  # out-of-range priority → 0
    assert outcome.details["registration_id"] == "amzn1.adm-registration.v3.A"


def test_client_credentials_token_is_cached_and_refreshed_on_expiry(adapter, adm_fake):
    adapter.send_batch([_item(f"r{i}", i) for i in range(20)])
    assert adm_fake.token_requests == 1
    token_form = adm_fake.requests[0].body.decode()
    assert "grant_type=client_credentials" in token_form and "scope=messaging%3Apush" in token_form
    adm_fake.tokens.clear()  # expired on Amazon's side
    [outcome] = adapter.send_batch([_item(n=50)])
    assert outcome.result == Result.DELIVERED
    assert adm_fake.token_requests == 2


def test_unregistered_ids_are_invalidated(adapter, adm_fake):
    adm_fake.dead_ids.add("dead")
    dead, ok = adapter.send_batch([_item("dead", 1), _item("ok", 2)])
    assert (dead.result, dead.invalidate_address) == (Result.BOUNCED, True)
    assert (ok.result, ok.invalidate_address) == (Result.DELIVERED, False)


def test_throttled_then_delivered_and_4xx_not_retried(adapter, adm_fake):
    adapter.send_batch([_item(n=0)])
    adm_fake.script.append((429, {"retry-after": "1"}, b'{"reason":"MaxRateExceeded"}'))
    [outcome] = adapter.send_batch([_item(n=1)])
    assert outcome.result == Result.DELIVERED
    assert adm_fake.requests[-1].at - adm_fake.requests[-2].at >= 0.95
    adm_fake.script.append((400, {}, b'{"reason":"InvalidData"}'))
    count = len(adm_fake.requests)
    [outcome] = adapter.send_batch([_item(n=2)])
    assert outcome.result == Result.FAILED
    assert len(adm_fake.requests) == count + 1


def test_wrong_client_secret_fails(connect_adm, adm_fake):
    [outcome] = connect_adm(client_secret="nope").send_batch([_item()])
    assert outcome.result == Result.FAILED
    assert "invalid_client" in outcome.provider_response
    assert adm_fake.delivered == []
