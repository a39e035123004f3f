"""POST /messages/send with every push channel and SMS pointed at local protocol servers."""

from __future__ import annotations

import json

import pytest

from campaigns.models import Channel
from config.celery import app as celery_app
from messaging.models import App, Delivery, Profile, PushToken
from messaging.services.providers import app_create, channel_config_save

from .conftest import apns_channel_save

pytestmark = pytest.mark.django_db
GROUP = "7b0e7a3e-5d4f-4c1e-9a55-000000000001"


@pytest.fixture(autouse=True)
def _eager(settings, tls):
    settings.HERALD_PROVIDER_CA_BUNDLE = tls.ca_file
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_a_send_delivers_on_every_channel_and_forgets_dead_tokens(
    api,
    django_capture_on_commit_callbacks,
    apns_fake,
    fcm_fake,
    adm_fake,
    push_service,
    twilio_fake,
    p8,
):
    ios = app_create(name="iOS", platform=App.Platform.IOS)
    android = app_create(name="Android", platform=App.Platform.ANDROID)
    kindle = app_create(name="Kindle", platform=App.Platform.KINDLE)
    web = app_create(name="Web", platform=App.Platform.WEB)
    apns_channel_save(ios, p8, base_url=apns_fake.base_url)
    channel_config_save(
        app=android,
        channel=Channel.ANDROID_PUSH,
        provider="fcm",
        base_url=fcm_fake.base_url,
        secrets={"service_account_json": json.dumps(fcm_fake.account)},
    )
    channel_config_save(
        app=kindle,
        channel=Channel.KINDLE_PUSH,
        provider="adm",
        base_url=adm_fake.base_url,
        options={"client_id": adm_fake.client_id},
        secrets={"client_secret": adm_fake.client_secret},
    )
    web_config = channel_config_save(
        app=web,
        channel=Channel.WEB_PUSH,
        provider="webpush",
        options={"subject": "mailto:ops@example.test"},
    )
    channel_config_save(
        app=android,
        channel=Channel.SMS,
        provider="twilio",
        base_url=twilio_fake.base_url,
        options={"account_sid": twilio_fake.account_sid, "senders": {GROUP: "+15550001111"}},
        secrets={"auth_token": twilio_fake.auth_token},
    )

    alice = Profile.objects.create(external_id="alice", phone="+15557650001")
    bob = Profile.objects.create(external_id="bob", phone="+15557650002")
    twilio_fake.unreachable.add(bob.phone)
    alice_web, bob_web = push_service.subscribe(), push_service.subscribe()
    push_service.unsubscribe(bob_web)
    tokens = {
        (alice, ios): "a1" * 32,
        (bob, ios): "b1" * 32,
        (alice, android): "alice-fcm",
        (bob, android): "bob-fcm",
        (alice, kindle): "alice-adm",
        (bob, kindle): "bob-adm",
        (alice, web): alice_web,
        (bob, web): bob_web,
    }
    for (profile, app), token in tokens.items():
        PushToken.objects.create(profile=profile, app_id=app.app_id, token=token)
    apns_fake.dead_tokens.add("b1" * 32)
    fcm_fake.dead_tokens.add("bob-fcm")
    adm_fake.dead_ids.add("bob-adm")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/messages/send",
            {
                "external_user_ids": ["alice", "bob"],
                "messages": {
                    "apple_push": {"alert": "Hi {{${first_name}}}", "badge": 1},
                    "android_push": {"alert": "Hi", "title": "Herald"},
                    "kindle_push": {"alert": "Hi", "title": "Herald"},
                    "web_push": {"alert": "Hi", "title": "Herald"},
                    "sms": {
                        "body": "Hi from Herald",
                        "subscription_group_id": GROUP,
                        "app_id": android.app_id,
                    },
                },
            },
        )
    assert response.status_code == 201, response.content

    deliveries = {
        (d.profile.external_id, d.channel): d for d in Delivery.objects.select_related("profile")
    }
    for channel, provider in (
        ("apple_push", "apns"),
        ("android_push", "fcm"),
        ("kindle_push", "adm"),
        ("web_push", "webpush"),
        ("sms", "twilio"),
    ):
        assert deliveries[("alice", channel)].status == Delivery.Status.DELIVERED, channel
        assert deliveries[("alice", channel)].provider == provider
        assert deliveries[("bob", channel)].status == Delivery.Status.BOUNCED, (
            channel,
            deliveries[("bob", channel)].error,
            deliveries[("bob", channel)].address,
        )
    # Every local server got alice's message.
    assert [d for d, _ in apns_fake.delivered] == ["a1" * 32]
    assert [m["token"] for m in fcm_fake.delivered] == ["alice-fcm"]
    assert [r for r, _ in adm_fake.delivered] == ["alice-adm"]
    assert [n["body"] for _, n, _ in push_service.received] == ["Hi"]
    assert push_service.vapid_keys_seen == {web_config.options["vapid_public_key"]}
    assert [f["To"] for f in twilio_fake.sent] == [["+15557650001"]]
    assert twilio_fake.sent[0]["StatusCallback"][0].endswith(
        f"/status/{deliveries[('alice', 'sms')].message_id}/"
    )
    # Dead tokens are gone from bob's profile; alice keeps hers.
    live = set(
        PushToken.objects.filter(invalidated_at__isnull=True).values_list("token", flat=True)
    )
    assert live == {tokens[(alice, app)] for app in (ios, android, kindle, web)}


def test_unknown_app_id_in_a_push_message_is_refused(api):
    app_create(name="iOS", platform=App.Platform.IOS)
    Profile.objects.create(external_id="alice")
    response = api.post(
        "/messages/send",
        {
            "external_user_ids": ["alice"],
            "messages": {
                "apple_push": {"alert": "x", "app_id": "3f1c0000-0000-4000-8000-000000000000"}
            },
        },
    )
    assert response.status_code == 400
    assert "app_id" in json.dumps(response.json())
    assert Delivery.objects.count() == 0
