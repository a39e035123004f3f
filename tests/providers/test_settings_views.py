"""Settings → Apps and Settings → Channels: create, configure, mask, test-send."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from messaging.models import App, ChannelConfig, Profile, PushToken
from messaging.services.providers import app_create

from .conftest import ios_app_with_token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["messaging:app-list", "messaging:channel-list"])
def test_anonymous_visitors_are_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_channel_pages_refuse_anonymous_posts(client):
    app = app_create(name="iOS", platform="ios")
    url = reverse("messaging:channel-edit", args=[app.app_id, "apple_push"])
    assert client.post(url, {"provider": "sandbox"}).status_code == 302
    assert not ChannelConfig.objects.exists()


def test_creating_an_app_shows_its_app_id(developer_client):
    response = developer_client.post(
        reverse("messaging:app-list"), {"name": "Shop iOS", "platform": "ios"}
    )
    assert response.status_code == 302
    app = App.objects.get()
    page = developer_client.get(reverse("messaging:app-list")).content.decode()
    assert app.app_id in page and "Shop iOS" in page


def test_invalid_app_form_shows_errors_and_creates_nothing(developer_client):
    response = developer_client.post(
        reverse("messaging:app-list"), {"name": "", "platform": "palm"}
    )
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert not App.objects.exists()


def test_apns_credentials_are_saved_encrypted_and_shown_masked(developer_client, p8):
    app = app_create(name="Shop iOS", platform="ios")
    url = reverse("messaging:channel-edit", args=[app.app_id, "apple_push"])
    response = developer_client.post(
        url,
        {
            "provider": "apns",
            "team_id": "TEAM123456",
            "key_id": "KEY1234567",
            "topic": "com.example.app",
            "private_key": p8,
            "use_sandbox_host": "on",
        },
    )
    assert response.status_code == 302
    config = ChannelConfig.objects.get()
    assert config.use_sandbox_host and config.credentials["private_key"] == p8.strip().strip()
    key_body = p8.splitlines()[1]
    for page_url in (url, reverse("messaging:channel-list")):
        page = developer_client.get(page_url).content.decode()
        assert key_body not in page
        assert "••••" in page
    # Saving again without the key keeps it.
    developer_client.post(
        url,
        {
            "provider": "apns",
            "team_id": "TEAM123456",
            "key_id": "KEY1234567",
            "topic": "com.example.other",
            "private_key": "",
        },
    )
    config.refresh_from_db()
    assert config.options["topic"] == "com.example.other"
    assert config.credentials["private_key"] == p8.strip()


def test_a_bad_p8_key_is_refused(developer_client):
    app = app_create(name="Shop iOS", platform="ios")
    url = reverse("messaging:channel-edit", args=[app.app_id, "apple_push"])
    response = developer_client.post(
        url,
        {"provider": "apns", "team_id": "T", "key_id": "K", "topic": "t", "private_key": "hello"},
    )
    assert response.status_code == 200
    assert "not a PEM private key" in response.content.decode()
    assert not ChannelConfig.objects.exists()


def test_first_save_requires_the_secret(developer_client):
    app = app_create(name="Phones", platform="android")
    url = reverse("messaging:channel-edit", args=[app.app_id, "sms"])
    response = developer_client.post(
        url, {"provider": "twilio", "account_sid": "AC1", "senders": "group-1 = 555"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Required." in body and "Line 1" in body
    assert not ChannelConfig.objects.exists()


def test_twilio_senders_are_parsed(developer_client):
    app = app_create(name="Phones", platform="android")
    url = reverse("messaging:channel-edit", args=[app.app_id, "sms"])
    developer_client.post(
        url,
        {
            "provider": "twilio",
            "account_sid": "AC1",
            "auth_token": "secret-token-99",
            "senders": "group-1 = +15550001111\ngroup-2 = MG" + "a" * 32,
        },
    )
    config = ChannelConfig.objects.get()
    assert config.options["senders"] == {"group-1": "+15550001111", "group-2": "MG" + "a" * 32}
    page = developer_client.get(url).content.decode()
    assert "secret-token-99" not in page
    assert f"/webhooks/sms/{config.public_id}/inbound/" in page


def test_htmx_provider_switch_returns_only_the_fields(developer_client):
    app = app_create(name="Shop iOS", platform="ios")
    url = reverse("messaging:channel-edit", args=[app.app_id, "apple_push"])
    response = developer_client.get(url, {"provider": "apns"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="provider-fields"' in body and 'name="team_id"' in body
    body = developer_client.get(
        url, {"provider": "sandbox"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'name="team_id"' not in body and "sandbox" in body


def test_web_push_keys_are_generated_shown_and_rotated(developer_client):
    app = app_create(name="Site", platform="web")
    url = reverse("messaging:channel-edit", args=[app.app_id, "web_push"])
    developer_client.post(url, {"provider": "webpush", "subject": "mailto:ops@example.test"})
    config = ChannelConfig.objects.get()
    public = config.options["vapid_public_key"]
    assert public in developer_client.get(url).content.decode()
    assert public in developer_client.get(reverse("messaging:app-list")).content.decode()
    developer_client.post(reverse("messaging:channel-vapid-rotate", args=[app.app_id]))
    config.refresh_from_db()
    assert config.options["vapid_public_key"] != public


def test_unknown_app_or_channel_is_404(developer_client):
    app = app_create(name="Site", platform="web")
    assert (
        developer_client.get(
            reverse("messaging:channel-edit", args=["nope", "web_push"])
        ).status_code
        == 404
    )
    assert (
        developer_client.get(
            reverse("messaging:channel-edit", args=[app.app_id, "email"])
        ).status_code
        == 404
    )


def test_send_test_shows_the_providers_answer(developer_client, settings, tls, apns_fake, p8):
    settings.HERALD_PROVIDER_CA_BUNDLE = tls.ca_file
    app = ios_app_with_token(p8, base_url=apns_fake.base_url, token="ab" * 32)
    profile = Profile.objects.get(external_id="alice")
    url = reverse("messaging:channel-test", args=[app.app_id, "apple_push"])
    response = developer_client.post(url, {"profile": "alice"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert "delivered" in body and "apns-id" in body
    [(token, payload)] = apns_fake.delivered
    assert token == "ab" * 32 and payload["aps"]["alert"]["title"] == "Herald test"

    apns_fake.dead_tokens.add("ab" * 32)
    body = developer_client.post(url, {"profile": profile.braze_id}).content.decode()
    assert "bounced" in body and "Unregistered" in body
    assert PushToken.objects.get().invalidated_at is not None
    body = developer_client.post(url, {"profile": "alice"}).content.decode()
    assert "has no push token" in body
    body = developer_client.post(url, {"profile": "nobody"}).content.decode()
    assert "No profile" in body


def test_send_test_with_unreadable_credentials_explains_instead_of_crashing(
    developer_client, settings, p8
):
    app = ios_app_with_token(p8)
    settings.HERALD_ENCRYPTION_KEY = "another key"
    url = reverse("messaging:channel-test", args=[app.app_id, "apple_push"])
    response = developer_client.post(url, {"profile": "alice"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "cannot be used" in response.content.decode()
    page = developer_client.get(reverse("messaging:channel-list")).content.decode()
    assert "unreadable" in page


def test_changing_the_base_url_requires_the_secret_again(developer_client):
    app = app_create(name="Phones", platform="android")
    url = reverse("messaging:channel-edit", args=[app.app_id, "sms"])
    form = {"provider": "twilio", "account_sid": "AC1", "senders": "g = +15550001111"}
    developer_client.post(url, {**form, "auth_token": "secret-token-99"})
    # Pointing the stored token at another server is refused without retyping it…
    response = developer_client.post(url, {**form, "base_url": "https://collector.example"})
    assert response.status_code == 200 and "Required." in response.content.decode()
    config = ChannelConfig.objects.get()
    assert config.base_url == "" and config.credentials == {"auth_token": "secret-token-99"}
    # …and accepted with it.
    developer_client.post(
        url, {**form, "base_url": "https://proxy.example", "auth_token": "new-token-42"}
    )
    config.refresh_from_db()
    assert config.base_url == "https://proxy.example"
    assert config.credentials == {"auth_token": "new-token-42"}


def test_pasted_secrets_are_hidden_from_error_reports(developer_client, p8):
    app = app_create(name="Shop iOS", platform="ios")
    url = reverse("messaging:channel-edit", args=[app.app_id, "apple_push"])
    response = developer_client.post(url, {"provider": "apns", "private_key": p8, "team_id": "T"})
    cleansed = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert cleansed["private_key"] != p8 and "*" in cleansed["private_key"]
    assert cleansed["team_id"] == "T"


def test_an_unconfigured_channel_starts_on_the_sandbox_and_says_so(developer_client, p8):
    app = app_create(name="Shop iOS", platform="ios")
    url = reverse("messaging:channel-edit", args=[app.app_id, "apple_push"])
    page = developer_client.get(url).content.decode()
    # The select must not suggest APNs while messages actually go to the sandbox.
    assert '<option value="sandbox" selected>' in page
    assert '<option value="apns" selected>' not in page
    assert 'data-provider="sandbox"' in page and "no provider saved yet" in page
    developer_client.post(
        url,
        {"provider": "apns", "team_id": "T1", "key_id": "K1", "topic": "shop", "private_key": p8},
    )
    page = developer_client.get(url).content.decode()
    assert '<option value="apns" selected>' in page
    assert 'data-provider="apns"' in page and "no provider saved yet" not in page
