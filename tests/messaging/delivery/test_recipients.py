"""Who can be reached on which channel: push tokens by app platform, SMS groups after STOP,
email global unsubscribes. A recipient without a usable address is *skipped*, not failed."""

from __future__ import annotations

import pytest
from django.core import mail

from analytics.models import EngagementEvent
from messaging.models import App, ChannelConfig, Delivery, Profile, PushToken
from messaging.services.providers import app_create, sms_inbound_record

pytestmark = pytest.mark.django_db

GROUP = "sg-orders"
EMAIL = {"app_id": "any", "from": "orders@acme.test", "subject": "Hi", "body": "<p>Hi</p>"}


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _rows(channel: str) -> dict[str, Delivery]:
    return {
        d.profile.external_id: d
        for d in Delivery.objects.filter(channel=channel).select_related("profile")
    }


# --- push tokens by platform ---------------------------------------------------------------


def test_android_only_profile_is_skipped_for_apple_push_not_failed(send):
    ios = app_create(name="Acme iOS", platform=App.Platform.IOS)
    android = app_create(name="Acme Android", platform=App.Platform.ANDROID)
    droid = Profile.objects.create(external_id="droid")
    both = Profile.objects.create(external_id="both")
    PushToken.objects.create(profile=droid, app_id=android.app_id, token="droid-fcm")
    PushToken.objects.create(profile=both, app_id=android.app_id, token="both-fcm")
    PushToken.objects.create(profile=both, app_id=ios.app_id, token="both-apns")

    dispatch = send(
        {
            "external_user_ids": ["droid", "both"],
            "messages": {
                "apple_push": {"alert": "Hi"},
                "android_push": {"alert": "Hi", "title": "T"},
            },
        }
    )

    apple, android_rows = _rows("apple_push"), _rows("android_push")
    assert apple["droid"].status == Delivery.Status.SKIPPED
    assert apple["droid"].error == "no push token of an iOS app"
    # Only the iOS token goes to the iOS channel, only Android tokens to Android.
    assert apple["both"].address == "both-apns"
    assert apple["both"].status == Delivery.Status.DELIVERED
    assert android_rows["both"].address == "both-fcm"
    assert android_rows["droid"].address == "droid-fcm"
    dispatch.refresh_from_db()
    # Carried by the sandbox (no provider configured): sandboxed, never delivered.
    assert (dispatch.delivered_count, dispatch.sandboxed_count) == (0, 3)
    assert (dispatch.skipped_count, dispatch.failed_count) == (1, 0)
    # A skipped recipient is no failure in the statistics either.
    assert not EngagementEvent.objects.filter(kind="failed").exists()


def test_message_app_id_restricts_tokens_to_that_app(send):
    shop = app_create(name="Shop iOS", platform=App.Platform.IOS)
    bank = app_create(name="Bank iOS", platform=App.Platform.IOS)
    profile = Profile.objects.create(external_id="p")
    PushToken.objects.create(profile=profile, app_id=shop.app_id, token="shop-tok")
    PushToken.objects.create(profile=profile, app_id=bank.app_id, token="bank-tok")
    other = Profile.objects.create(external_id="q")
    PushToken.objects.create(profile=other, app_id=bank.app_id, token="bank-only")

    send(
        {
            "external_user_ids": ["p", "q"],
            "messages": {"apple_push": {"alert": "Hi", "app_id": shop.app_id}},
        }
    )
    rows = _rows("apple_push")
    assert rows["p"].address == "shop-tok"
    assert rows["q"].status == Delivery.Status.SKIPPED
    assert rows["q"].error == f"no push token of app {shop.app_id}"


def test_tokens_of_unregistered_apps_go_to_the_sandbox_until_the_platform_has_an_app(send):
    profile = Profile.objects.create(external_id="demo")
    PushToken.objects.create(profile=profile, app_id="demo-app", token="demo-tok")
    # A demo install without Apps: the token is usable, the sandbox records the send.
    send({"external_user_ids": ["demo"], "messages": {"web_push": {"alert": "Hi", "title": "T"}}})
    row = Delivery.objects.get()
    assert (row.status, row.address, row.provider) == ("delivered", "demo-tok", "sandbox")

    # Once a web app is registered, a token of an app nobody registered cannot reach its
    # provider: skipped, not sent to a sandbox that would pretend it was delivered.
    app_create(name="Site", platform=App.Platform.WEB)
    send({"external_user_ids": ["demo"], "messages": {"web_push": {"alert": "Hi", "title": "T"}}})
    row = Delivery.objects.order_by("-pk").first()
    assert (row.status, row.error) == ("skipped", "no push token of a Web app")


def test_invalidated_tokens_are_never_selected(send):
    ios = app_create(name="iOS", platform=App.Platform.IOS)
    profile = Profile.objects.create(external_id="p")
    PushToken.objects.create(profile=profile, app_id=ios.app_id, token="dead")
    PushToken.objects.filter(token="dead").update(invalidated_at="2026-01-01T00:00:00Z")
    send({"external_user_ids": ["p"], "messages": {"apple_push": {"alert": "Hi"}}})
    row = Delivery.objects.get()
    assert (row.status, row.error) == ("skipped", "no push token")


# --- SMS subscription groups ---------------------------------------------------------------


def _sms(group: str = GROUP) -> dict:
    return {"app_id": "sms-app", "subscription_group_id": group, "body": "Your order shipped"}


def test_sms_skips_profiles_that_texted_stop(send):
    app = app_create(name="Acme", platform=App.Platform.ANDROID)
    config = ChannelConfig.objects.create(
        app=app, channel="sms", provider="sandbox", options={"senders": {GROUP: "+15550009999"}}
    )
    Profile.objects.create(external_id="stopper", phone="+15550000001")
    Profile.objects.create(external_id="keeper", phone="+15550000002")
    # h5's inbound webhook service, exactly as a real STOP arrives.
    assert sms_inbound_record(
        config=config, from_number="+15550000001", to_number="+15550009999", body="stop"
    )

    dispatch = send(
        {
            "external_user_ids": ["stopper", "keeper"],
            "messages": {"sms": {**_sms(), "app_id": app.app_id}},
        }
    )
    rows = _rows("sms")
    assert rows["stopper"].status == Delivery.Status.SKIPPED
    assert rows["stopper"].error == f"sms subscription group {GROUP} unsubscribed"
    assert rows["stopper"].provider == "" and rows["stopper"].sent_at is None
    assert rows["keeper"].status == Delivery.Status.DELIVERED
    dispatch.refresh_from_db()
    assert (dispatch.sandboxed_count, dispatch.skipped_count) == (1, 1)

    # STOP applies to that group only: another group's messages still go out.
    send({"external_user_ids": ["stopper"], "messages": {"sms": {**_sms("sg-other"),
                                                                   "app_id": app.app_id}}})
    latest = Delivery.objects.filter(profile__external_id="stopper").order_by("-pk").first()
    assert latest.status == Delivery.Status.DELIVERED


def test_sms_respects_group_state_set_through_the_api(api, send):
    Profile.objects.create(external_id="a", phone="+15550000011")
    Profile.objects.create(external_id="b", phone="+15550000012")
    # /users/track and /v2/subscription/status/set store the groups the way they do.
    response = api.post(
        "/users/track",
        {
            "attributes": [
                {
                    "external_id": "a",
                    "subscription_groups": [
                        {"subscription_group_id": GROUP, "subscription_state": "unsubscribed"}
                    ],
                }
            ]
        },
    )
    assert response.status_code == 201, response.json()
    response = api.post(
        "/v2/subscription/status/set",
        {
            "subscription_groups": [
                {
                    "subscription_group_id": GROUP,
                    "subscription_state": "unsubscribed",
                    "external_ids": ["b"],
                }
            ]
        },
    )
    assert response.status_code in (200, 201), response.json()
    send({"external_user_ids": ["a", "b"], "messages": {"sms": _sms()}})
    assert {d.status for d in Delivery.objects.all()} == {"skipped"}

    # Resubscribed: sent again. Even recipient_subscription_state "all" never overrides STOP.
    api.post(
        "/v2/subscription/status/set",
        {
            "subscription_groups": [
                {
                    "subscription_group_id": GROUP,
                    "subscription_state": "subscribed",
                    "external_ids": ["b"],
                }
            ]
        },
    )
    send(
        {
            "external_user_ids": ["a", "b"],
            "recipient_subscription_state": "all",
            "messages": {"sms": _sms()},
        }
    )
    latest = {
        d.profile.external_id: d.status
        for d in Delivery.objects.order_by("pk").select_related("profile")
    }
    assert latest == {"a": "skipped", "b": "delivered"}


def test_group_states_are_visible_to_liquid(send):
    Profile.objects.create(
        external_id="a",
        phone="+15550000021",
        standard_extras={"subscription_groups": {"sg-news": "unsubscribed"}},
    )
    message = {**_sms(), "body": "news={{subscribed_state.${sg-news}}}"}
    send({"external_user_ids": ["a"], "messages": {"sms": message}})
    assert Delivery.objects.get().rendered["body"] == "news=unsubscribed"


# --- email --------------------------------------------------------------------------------


def test_email_global_unsubscribe_through_the_api_skips_the_profile(api, send):
    Profile.objects.create(external_id="a", email="a@example.test")
    Profile.objects.create(external_id="b", email="b@example.test")
    response = api.post(
        "/email/status", {"email": "a@example.test", "subscription_state": "unsubscribed"}
    )
    assert response.status_code in (200, 201), response.json()
    send({"external_user_ids": ["a", "b"], "messages": {"email": EMAIL}})
    assert [m.to[0] for m in mail.outbox] == ["b@example.test"]
    skipped = Delivery.objects.get(status="skipped")
    assert (skipped.profile.external_id, skipped.error) == ("a", "email unsubscribed")
