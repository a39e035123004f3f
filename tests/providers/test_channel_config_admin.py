"""The Django admin cannot re-point stored provider secrets at another server.

The dashboard form asks for the secrets again when the base URL changes; the admin has no
such check, so there the base URL, the provider (once saved) and the credentials are
read-only.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.models import Channel
from messaging.models import App, ChannelConfig
from messaging.services.providers import app_create, channel_config_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def config() -> ChannelConfig:
    app = app_create(name="Shop Android", platform=App.Platform.ANDROID)
    return channel_config_save(
        app=app,
        channel=Channel.ANDROID_PUSH,
        provider="fcm",
        options={},
        secrets={"service_account_json": '{"project_id": "p"}'},
        base_url="https://fcm.example.test",
    )


def test_base_url_is_shown_but_not_editable(admin_client, config):
    url = reverse("admin:messaging_channelconfig_change", args=[config.pk])
    page = admin_client.get(url).content.decode()
    assert "https://fcm.example.test" in page
    assert 'name="base_url"' not in page
    assert 'name="provider"' not in page
    assert 'name="credentials' not in page


def test_posting_a_new_base_url_does_not_change_it(admin_client, config):
    url = reverse("admin:messaging_channelconfig_change", args=[config.pk])
    before = config.credentials_encrypted
    response = admin_client.post(
        url,
        {
            "app": config.app_id,
            "channel": config.channel,
            "provider": "webpush",
            "options": "{}",
            "base_url": "http://attacker.example.test",
            "use_sandbox_host": "",
            "credentials_encrypted": "x",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    config.refresh_from_db()
    assert (config.base_url, config.provider) == ("https://fcm.example.test", "fcm")
    assert config.credentials_encrypted == before
