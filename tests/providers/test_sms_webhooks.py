"""Signed SMS delivery-status callbacks and inbound STOP keywords."""

from __future__ import annotations

import pytest
from django.conf import settings

from analytics.models import EngagementEvent
from campaigns.models import Channel
from messaging.models import App, Delivery, Dispatch, Profile
from messaging.services.providers import app_create, channel_config_save
from tests.fakes.twilio import twilio_signature

pytestmark = pytest.mark.django_db
TOKEN = "twilio-auth-token-0001"
GROUP = "7b0e7a3e-5d4f-4c1e-9a55-000000000001"
OTHER_GROUP = "7b0e7a3e-5d4f-4c1e-9a55-000000000002"


@pytest.fixture
def config():
    app = app_create(name="Phones", platform=App.Platform.ANDROID)
    return channel_config_save(
        app=app,
        channel=Channel.SMS,
        provider="twilio",
        options={
            "account_sid": "AC" + "1" * 32,
            "senders": {GROUP: "+15550001111", OTHER_GROUP: "+15550002222"},
        },
        secrets={"auth_token": TOKEN},
    )


@pytest.fixture
def delivery(config):
    profile = Profile.objects.create(external_id="alice", phone="+15557650001")
    dispatch = Dispatch.objects.create()
    return Delivery.objects.create(
        dispatch=dispatch,
        profile=profile,
        channel=Channel.SMS,
        app_id=config.app.app_id,
        address=profile.phone,
        status=Delivery.Status.DELIVERED,
        provider="twilio",
    )


def _post(client, path, params, token=TOKEN, signature=None):
    url = settings.SITE_URL + path
    headers = {
        "X-Twilio-Signature": signature
        if signature is not None
        else twilio_signature(url, params, token)
    }
    return client.post(path, params, headers=headers)


def _status_path(config, delivery):
    return f"/webhooks/sms/{config.public_id}/status/{delivery.message_id}/"


def test_delivered_callback_records_one_delivered_event(client, config, delivery):
    params = {
        "MessageSid": "SM1",
        "MessageStatus": "delivered",
        "To": "+15557650001",
        "AccountSid": "AC" + "1" * 32,
    }
    assert _post(client, _status_path(config, delivery), params).status_code == 204
    assert (
        _post(client, _status_path(config, delivery), params).status_code == 204
    )  # provider retried
    [event] = EngagementEvent.objects.filter(delivery=delivery)
    assert (event.kind, event.channel, event.profile_id) == (
        "delivered",
        "sms",
        delivery.profile_id,
    )
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED


def test_undelivered_callback_records_a_failure(client, config, delivery):
    params = {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert _post(client, _status_path(config, delivery), params).status_code == 204
    [event] = EngagementEvent.objects.filter(delivery=delivery)
    assert event.kind == "failed"
    assert event.properties["error_code"] == "30003"
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert "30003" in delivery.error


def test_intermediate_statuses_record_nothing(client, config, delivery):
    for status in ("queued", "sending", "sent"):
        assert (
            _post(client, _status_path(config, delivery), {"MessageStatus": status}).status_code
            == 204
        )
    assert not EngagementEvent.objects.exists()


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", None])
def test_bad_signature_is_refused_and_records_nothing(client, config, delivery, signature):
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    forged = twilio_signature(
        settings.SITE_URL + _status_path(config, delivery), params, "wrong-token"
    )
    response = _post(
        client,
        _status_path(config, delivery),
        params,
        signature=forged if signature is None else signature,
    )
    assert response.status_code == 403
    assert not EngagementEvent.objects.exists()


def test_tampered_parameters_break_the_signature(client, config, delivery):
    signed = {"MessageSid": "SM1", "MessageStatus": "failed"}
    signature = twilio_signature(settings.SITE_URL + _status_path(config, delivery), signed, TOKEN)
    response = _post(
        client,
        _status_path(config, delivery),
        {**signed, "MessageStatus": "delivered"},
        signature=signature,
    )
    assert response.status_code == 403
    assert not EngagementEvent.objects.exists()


def test_callback_for_unknown_configuration_is_404(client, delivery):
    response = client.post(
        f"/webhooks/sms/00000000-0000-4000-8000-000000000000/status/{delivery.message_id}/",
        {"MessageStatus": "delivered"},
    )
    assert response.status_code == 404


def test_get_is_not_allowed(client, config, delivery):
    assert client.get(_status_path(config, delivery)).status_code == 405


def _groups(profile):
    profile.refresh_from_db()
    return {
        g["subscription_group_id"]: g["subscription_state"]
        for g in profile.standard_extras.get("subscription_groups", [])
    }


@pytest.mark.parametrize("body", ["STOP", "stop", " Unsubscribe ", "stop all"])
def test_stop_unsubscribes_every_profile_with_that_number_from_the_senders_group(
    client, config, body
):
    alice = Profile.objects.create(
        external_id="alice",
        phone="+15557650001",
        standard_extras={
            "subscription_groups": [
                {"subscription_group_id": GROUP, "subscription_state": "subscribed"},
                {"subscription_group_id": OTHER_GROUP, "subscription_state": "subscribed"},
            ]
        },
    )
    twin = Profile.objects.create(external_id="alice-2", phone="+15557650001")
    stranger = Profile.objects.create(external_id="bob", phone="+15557650002")
    path = f"/webhooks/sms/{config.public_id}/inbound/"
    params = {"From": "+15557650001", "To": "+15550001111", "Body": body, "MessageSid": "SMin1"}
    response = _post(client, path, params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert _groups(alice) == {GROUP: "unsubscribed", OTHER_GROUP: "subscribed"}
    assert _groups(twin) == {GROUP: "unsubscribed"}
    assert _groups(stranger) == {}
    assert EngagementEvent.objects.filter(kind="opt_out", channel="sms").count() == 2


def test_other_inbound_text_changes_nothing(client, config):
    alice = Profile.objects.create(external_id="alice", phone="+15557650001")
    params = {"From": "+15557650001", "To": "+15550001111", "Body": "please stop sending at night"}
    assert _post(client, f"/webhooks/sms/{config.public_id}/inbound/", params).status_code == 200
    assert _groups(alice) == {}
    assert not EngagementEvent.objects.exists()


def test_unsigned_stop_is_refused(client, config):
    alice = Profile.objects.create(external_id="alice", phone="+15557650001")
    params = {"From": "+15557650001", "To": "+15550001111", "Body": "STOP"}
    response = _post(client, f"/webhooks/sms/{config.public_id}/inbound/", params, token="guess")
    assert response.status_code == 403
    assert _groups(alice) == {}
    assert not EngagementEvent.objects.exists()
