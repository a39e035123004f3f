"""Every provider adapter sends a message's ID the same way on each send of it, so a row
resent after a crash carries the same ID (what each protocol offers: see each module)."""

from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qs

import pytest

from messaging.channels import apns, webpush
from messaging.channels.base import Outgoing, Result

from .conftest import SMS_GROUP

MESSAGE_ID = "0123456789abcdef0123456789abcdef"


def _twice(adapter, address: str, payload: dict) -> None:
    item = Outgoing(message_id=MESSAGE_ID, address=address, payload=payload, app_id="app")
    for _ in range(2):
        [outcome] = adapter.send_batch([item])
        assert outcome.result == Result.DELIVERED, outcome.provider_response


def test_apns_id_is_the_message_id_as_a_uuid(connect_apns, apns_fake):
    _twice(connect_apns(), "ab" * 32, {"alert": "Hi"})
    ids = [r.headers["apns-id"] for r in apns_fake.requests]
    assert ids == [str(uuid.UUID(hex=MESSAGE_ID))] * 2
    # Any other shape of ID still gets a stable UUID.
    assert apns.apns_id("not-hex") == apns.apns_id("not-hex") != apns.apns_id("other")


def test_fcm_carries_the_message_id_in_the_data(connect_fcm, fcm_fake):
    _twice(connect_fcm(), "token-1", {"alert": "Hi", "title": "T"})
    assert [m["data"]["herald_message_id"] for m in fcm_fake.delivered] == [MESSAGE_ID] * 2


def test_adm_carries_the_message_id_in_the_data(connect_adm, adm_fake):
    _twice(connect_adm(), "amzn1.adm-registration.v3.A", {"alert": "Hi", "title": "T"})
    sent = [r.json() for r in adm_fake.requests if r.path != "/auth/o2/token"]
    assert [m["data"]["herald_message_id"] for m in sent] == [MESSAGE_ID] * 2


def test_web_push_sends_the_message_id_as_topic_and_in_the_notification(connect, push_service):
    private, _ = webpush.generate_vapid_keys()
    adapter = connect(
        webpush.WebPushAdapter,
        webpush.WebPushConfig,
        vapid_private_key=private,
        subject="mailto:ops@example.test",
    )()
    _twice(adapter, push_service.subscribe(), {"alert": "Hi", "title": "T"})
    assert [n["herald_message_id"] for _, n, _ in push_service.received] == [MESSAGE_ID] * 2
    assert [h["topic"] for _, _, h in push_service.received] == [MESSAGE_ID] * 2


def test_twilio_has_no_idempotency_key_but_the_callback_names_the_message(
    connect_twilio, twilio_fake
):
    adapter = connect_twilio(status_callback=lambda message_id: f"https://h.test/cb/{message_id}")
    _twice(adapter, "+15557654321", {"body": "Hi", "subscription_group_id": SMS_GROUP})
    forms = [parse_qs(r.body.decode()) for r in twilio_fake.requests]
    assert [f["StatusCallback"] for f in forms] == [[f"https://h.test/cb/{MESSAGE_ID}"]] * 2
    assert not any(
        name.lower().startswith("i-twilio-idempotency") for name in twilio_fake.requests[0].headers
    )


@pytest.mark.parametrize("topic_ok", [True, False])
def test_web_push_topic_only_when_the_id_fits_rfc_8030(topic_ok, connect, push_service):
    private, _ = webpush.generate_vapid_keys()
    adapter = connect(
        webpush.WebPushAdapter, webpush.WebPushConfig, vapid_private_key=private, subject="x"
    )()
    message_id = MESSAGE_ID if topic_ok else "id with spaces that is far too long to be a topic"
    item = Outgoing(message_id, push_service.subscribe(), {"alert": "Hi"}, app_id="app")
    [outcome] = adapter.send_batch([item])
    assert outcome.result == Result.DELIVERED
    [(_, notification, headers)] = push_service.received
    assert ("topic" in headers) is topic_ok
    assert json.dumps(notification) and notification["herald_message_id"] == message_id
