"""Push tokens on the way out: the adapter reports a dead token as data, and the delivery
code invalidates exactly that token, nothing else."""

from __future__ import annotations

import pytest

from campaigns.models import Channel
from messaging.channels.base import Outcome, Result
from messaging.delivery import registry
from messaging.models import App, Delivery, Profile, PushToken
from messaging.services.providers import app_create, channel_config_save

pytestmark = pytest.mark.django_db


class FakePush:
    """A pure adapter: answers from the token alone, touches nothing."""

    name = "fakepush"

    def __init__(self):
        self.sent = []

    def send_batch(self, items, deadline=None):
        self.sent.extend(item.address for item in items)
        return [
            Outcome(Result.BOUNCED, "Unregistered", invalidate_address=True)
            if item.address.startswith("dead")
            else Outcome(Result.DELIVERED, "ok")
            for item in items
        ]


@pytest.fixture
def provider(monkeypatch):
    ios = app_create(name="Shop iOS", platform=App.Platform.IOS)
    # A saved provider, so deliveries are routed per app instead of going to the sandbox.
    channel_config_save(
        app=ios, channel=Channel.APPLE_PUSH, provider="apns", secrets={"private_key": "k"}
    )
    fake = FakePush()
    monkeypatch.setattr(registry, "adapter_for_app", lambda *, channel, config: fake)
    fake.app = ios
    return fake


def test_only_the_token_the_adapter_reported_dead_is_invalidated(provider, send):
    ios = provider.app
    android = app_create(name="Shop Android", platform=App.Platform.ANDROID)
    two_phones = Profile.objects.create(external_id="two")
    one_phone = Profile.objects.create(external_id="one")
    PushToken.objects.create(profile=two_phones, app_id=ios.app_id, token="dead-1")
    PushToken.objects.create(profile=two_phones, app_id=ios.app_id, token="alive-1")
    PushToken.objects.create(profile=two_phones, app_id=android.app_id, token="dead-droid")
    PushToken.objects.create(profile=one_phone, app_id=ios.app_id, token="dead-2")

    send({"external_user_ids": ["two", "one"], "messages": {"apple_push": {"alert": "Hi"}}})

    assert sorted(provider.sent) == ["alive-1", "dead-1", "dead-2"]
    rows = {d.profile.external_id: d for d in Delivery.objects.select_related("profile")}
    # One device of "two" is gone, the other got it: delivered, and only that token dropped.
    assert (rows["two"].status, rows["two"].provider) == ("delivered", "fakepush")
    assert rows["two"].address == "alive-1\ndead-1"  # its Android token is not for iOS
    assert rows["one"].status == "bounced"
    dead = set(
        PushToken.objects.filter(invalidated_at__isnull=False).values_list("app_id", "token")
    )
    assert dead == {(ios.app_id, "dead-1"), (ios.app_id, "dead-2")}


def test_a_dead_token_is_dropped_even_when_the_delivery_waits_for_a_retry(
    provider, send, monkeypatch
):
    ios = provider.app
    profile = Profile.objects.create(external_id="p")
    PushToken.objects.create(profile=profile, app_id=ios.app_id, token="dead-1")
    PushToken.objects.create(profile=profile, app_id=ios.app_id, token="busy-1")

    def answer(items, deadline=None):
        return [
            Outcome(Result.BOUNCED, "Unregistered", invalidate_address=True)
            if item.address.startswith("dead")
            else Outcome(Result.RETRY, "429")
            for item in items
        ]

    monkeypatch.setattr(provider, "send_batch", answer)
    send({"external_user_ids": ["p"], "messages": {"apple_push": {"alert": "Hi"}}})

    assert PushToken.objects.get(token="dead-1").invalidated_at is not None
    assert PushToken.objects.get(token="busy-1").invalidated_at is None
