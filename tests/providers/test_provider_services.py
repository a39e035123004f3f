"""Apps, encrypted channel configuration, token invalidation, the adapter registry and the
routing of push tokens to their apps' providers."""

from __future__ import annotations

import pytest
from django.db import connection

from campaigns.models import Channel
from messaging.channels.base import DeadToken, Outgoing, Result
from messaging.channels.limits import LocalSlots, RedisSlots
from messaging.channels.routing import ProviderRouter
from messaging.channels.sandbox import SandboxAdapter
from messaging.crypto import CredentialsUnreadable
from messaging.delivery import registry, routing
from messaging.models import App, ChannelConfig, Profile, PushToken
from messaging.services.providers import (
    app_create,
    app_exists,
    channel_config_save,
    push_token_invalidate,
)

from .conftest import apns_channel_save, ios_app_with_token

pytestmark = pytest.mark.django_db

SECRET = "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----"


def _raw_column(config: ChannelConfig) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT credentials_encrypted, options FROM {ChannelConfig._meta.db_table} "
            "WHERE id = %s",
            [config.pk],
        )
        encrypted, options = cursor.fetchone()
    return f"{encrypted} {options}"


def test_app_ids_are_random_uuids_and_app_exists_knows_them():
    first = app_create(name="Shop iOS", platform=App.Platform.IOS)
    second = app_create(name="Shop web", platform=App.Platform.WEB)
    assert first.app_id != second.app_id
    assert app_exists(first.app_id) and app_exists(second.app_id.upper())
    assert not app_exists("8d1b2a3c-0000-4000-8000-000000000000")
    assert not app_exists("not-a-uuid")
    assert not app_exists("")


def test_credentials_are_encrypted_at_rest_and_never_in_plain_columns():
    app = app_create(name="Shop iOS", platform=App.Platform.IOS)
    config = apns_channel_save(app, SECRET)
    raw = _raw_column(config)
    assert "TOPSECRETKEYMATERIAL" not in raw
    assert "PRIVATE KEY" not in raw
    assert ChannelConfig.objects.get(pk=config.pk).credentials == {"private_key": SECRET}


def test_a_different_encryption_key_cannot_read_them(settings):
    app = app_create(name="Shop iOS", platform=App.Platform.IOS)
    config = apns_channel_save(app, SECRET)
    settings.HERALD_ENCRYPTION_KEY = "another passphrase entirely"
    with pytest.raises(CredentialsUnreadable):
        _ = ChannelConfig.objects.get(pk=config.pk).credentials


def test_saving_without_a_secret_keeps_the_stored_one_and_switching_provider_drops_it():
    app = app_create(name="Phones", platform=App.Platform.ANDROID)
    channel_config_save(
        app=app,
        channel=Channel.SMS,
        provider="twilio",
        options={"account_sid": "AC1", "senders": {"g": "+15550001111"}},
        secrets={"auth_token": "tok-1234567890"},
    )
    config = channel_config_save(
        app=app,
        channel=Channel.SMS,
        provider="twilio",
        options={"account_sid": "AC2", "senders": {"g": "+15550001111"}},
        secrets={"auth_token": ""},
    )
    assert config.credentials == {"auth_token": "tok-1234567890"}
    assert config.options["account_sid"] == "AC2"
    config = channel_config_save(app=app, channel=Channel.SMS, provider="sandbox")
    assert config.credentials == {} and config.credentials_encrypted == ""
    assert ChannelConfig.objects.count() == 1


def test_web_push_config_gets_its_own_vapid_keys():
    one = channel_config_save(
        app=app_create(name="a", platform="web"),
        channel=Channel.WEB_PUSH,
        provider="webpush",
        options={"subject": "mailto:a@x.test"},
    )
    two = channel_config_save(
        app=app_create(name="b", platform="web"),
        channel=Channel.WEB_PUSH,
        provider="webpush",
        options={"subject": "mailto:a@x.test"},
    )
    assert one.options["vapid_public_key"] != two.options["vapid_public_key"]
    assert "PRIVATE" not in _raw_column(one)


def test_push_token_invalidate_marks_only_that_token():
    profile = Profile.objects.create(external_id="u1")
    dead = PushToken.objects.create(profile=profile, app_id="app-1", token="dead")
    alive = PushToken.objects.create(profile=profile, app_id="app-1", token="alive")
    other_app = PushToken.objects.create(profile=profile, app_id="app-2", token="dead")
    assert push_token_invalidate(app_id="app-1", token="dead") == 1
    assert push_token_invalidate(app_id="app-1", token="dead") == 0  # idempotent
    dead.refresh_from_db(), alive.refresh_from_db(), other_app.refresh_from_db()
    assert dead.invalidated_at is not None
    assert alive.invalidated_at is None and other_app.invalidated_at is None


def test_routing_uses_the_sandbox_until_a_provider_is_saved():
    app = app_create(name="Shop iOS", platform=App.Platform.IOS)
    assert isinstance(routing.adapter_for(Channel.APPLE_PUSH, []), SandboxAdapter)
    channel_config_save(app=app, channel=Channel.APPLE_PUSH, provider="sandbox")
    assert isinstance(routing.adapter_for(Channel.APPLE_PUSH, []), SandboxAdapter)
    apns_channel_save(app, SECRET)
    assert isinstance(routing.adapter_for(Channel.APPLE_PUSH, []), ProviderRouter)
    assert isinstance(routing.adapter_for(Channel.ANDROID_PUSH, []), SandboxAdapter)


def test_router_sends_each_token_through_its_apps_provider(settings, apns_fake, p8, tls):
    settings.HERALD_PROVIDER_CA_BUNDLE = tls.ca_file
    ios = app_create(name="Shop iOS", platform=App.Platform.IOS)
    other_ios = app_create(name="Old iOS", platform=App.Platform.IOS)  # no provider: sandbox
    android = app_create(name="Shop Android", platform=App.Platform.ANDROID)
    apns_channel_save(ios, p8, base_url=apns_fake.base_url)
    profile = Profile.objects.create(external_id="u1")
    good, dead, legacy = "aa" * 32, "dd" * 32, "ee" * 32
    for app, token in ((ios, good), (ios, dead), (other_ios, legacy), (android, "android-token")):
        PushToken.objects.create(profile=profile, app_id=app.app_id, token=token)
    apns_fake.dead_tokens.add(dead)

    items = [
        Outgoing("m1", f"{good}\n{dead}\nandroid-token", {"alert": "hi"}),
        Outgoing("m2", dead, {"alert": "hi"}),
        Outgoing("m3", "android-token", {"alert": "hi"}),
    ]
    router = routing.adapter_for(Channel.APPLE_PUSH, items)
    [mixed, dead_only, android_only] = router.send_batch(items)
    assert mixed.result == Result.DELIVERED and not mixed.invalidate_address
    assert (dead_only.result, dead_only.invalidate_address) == (Result.BOUNCED, True)
    assert android_only.result == Result.FAILED
    assert sorted(d for d, _ in apns_fake.delivered) == [good]  # never the Android token
    # The dead token is reported, per device, for the caller to drop; nothing is written.
    assert mixed.dead_tokens == dead_only.dead_tokens == [DeadToken(ios.app_id, dead)]
    assert android_only.dead_tokens == []
    assert not PushToken.objects.filter(invalidated_at__isnull=False).exists()
    assert router.name == "apns"
    legacy_items = [Outgoing("m4", legacy, {"alert": "hi"})]
    router = routing.adapter_for(Channel.APPLE_PUSH, legacy_items)
    [sandboxed] = router.send_batch(legacy_items)
    assert "not sent" in sandboxed.provider_response
    assert router.name == "sandbox"


def test_adapters_are_reused_between_batches_until_the_config_changes(p8):
    app = app_create(name="Shop iOS", platform=App.Platform.IOS)
    config = apns_channel_save(app, p8)
    first = registry.adapter_for_config(config)
    assert registry.adapter_for_config(ChannelConfig.objects.get(pk=config.pk)) is first
    config = apns_channel_save(app, p8, base_url="https://apns.test", topic="other")
    second = registry.adapter_for_config(config)
    assert second is not first
    assert (second.config.topic, second.base_url) == ("other", "https://apns.test")


def test_unreadable_credentials_make_a_retry_not_a_crash(settings, p8):
    ios_app_with_token(p8, token="ab" * 32)
    settings.HERALD_ENCRYPTION_KEY = "rotated without re-saving"
    items = [Outgoing("m1", "ab" * 32, {"alert": "x"})]
    [outcome] = routing.adapter_for(Channel.APPLE_PUSH, items).send_batch(items)
    assert outcome.result == Result.RETRY
    assert outcome.retry_after == 60
    assert "cannot be decrypted" in outcome.provider_response


def test_one_http_client_per_process_is_shared_by_webhooks_and_providers(settings, tls, p8):
    settings.HERALD_PROVIDER_CA_BUNDLE = tls.ca_file
    settings.DELIVERY_RATE_LIMITS = {"apns": 20, "smtp": 5}
    app = app_create(name="Shared", platform=App.Platform.IOS)
    adapter = registry.adapter_for_config(apns_channel_save(app, p8))
    webhook = registry.adapter_for_channel(Channel.WEBHOOK)
    assert webhook.client is registry.shared_client()
    assert adapter._client is registry.shared_http2_client()  # APNs: HTTP/2 only
    assert registry.adapter_for_channel(Channel.WEBHOOK) is webhook  # kept between batches
    assert adapter.config.concurrency == settings.DELIVERY_CONCURRENCY
    assert adapter.limiter.rate == 20 and adapter.limiter.key.startswith("apns:config:")
    email = registry.adapter_for_channel(Channel.EMAIL)
    assert email is registry.adapter_for_channel(Channel.EMAIL)
    assert email.limiter.rate == 5
    settings.DELIVERY_RATE_LIMITS = {}
    assert registry.limiter("smtp", "relay") is None


def test_rate_limits_are_booked_in_redis_when_the_cache_is_redis(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/1",
        }
    }
    settings.DELIVERY_RATE_LIMITS = {"twilio": 10}
    assert isinstance(registry.limiter("twilio", "account:AC1").slots, RedisSlots)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert isinstance(registry.limiter("twilio", "account:AC1").slots, LocalSlots)
