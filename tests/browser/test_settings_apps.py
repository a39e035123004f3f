"""A developer adds an app, sets up its iOS push provider and sends a test push (real browser)."""

from __future__ import annotations

import pytest

from messaging.models import ChannelConfig, Profile, PushToken

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def apns(p8_key):
    from tests.fakes.apns import FakeApns

    with FakeApns(p8=p8_key) as fake:  # expects TEAM123456 / KEY1234567 / com.example.app
        yield fake


@pytest.fixture
def p8_key():
    from tests.fakes.apns import make_p8

    return make_p8()


def _add_app(page, name: str, platform: str) -> None:
    page.goto("/settings/apps/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Platform").select_option(platform)
    page.get_by_role("button", name="Add app").click()


def test_set_up_apns_and_send_a_test_push(developer_page, settings, apns, p8_key):
    from tests.fakes.tls import local_tls

    settings.HERALD_PROVIDER_CA_BUNDLE = local_tls().ca_file
    page = developer_page
    _add_app(page, "Shop iOS", "ios")
    row = page.locator("#app-table tr", has_text="Shop iOS")
    app_id = row.locator("code").first.inner_text()
    assert len(app_id) == 36
    page.screenshot(path="/tmp/h5-apps.png", full_page=True)

    page.goto("/settings/channels/")
    page.get_by_role("link", name="Set up iOS for Shop iOS").click()
    page.wait_for_url("**/apple_push/")  # loaded: htmx is listening before the select changes
    # Switching the provider swaps in its fields through htmx.
    page.get_by_label("Provider", exact=True).select_option("sandbox")
    page.get_by_text("records each rendered message").wait_for()
    page.get_by_label("Provider", exact=True).select_option("apns")
    page.get_by_label("Team ID").fill("TEAM123456")
    page.get_by_label("Key ID").fill("KEY1234567")
    page.get_by_label("Bundle ID (apns-topic)").fill("com.example.app")
    page.get_by_label("Signing key (.p8)").fill(p8_key)
    page.get_by_label("Base URL override").fill(apns.base_url)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("now uses Apple Push Notification service").wait_for()
    assert p8_key.splitlines()[1] not in page.content()
    assert ChannelConfig.objects.get().provider == "apns"

    profile = Profile.objects.create(external_id="alice")
    PushToken.objects.create(profile=profile, app_id=app_id, token="ab" * 32)
    page.get_by_label("Profile (external_id or braze_id)").fill("alice")
    page.get_by_role("button", name="Send test").click()
    outcome = page.get_by_test_id("test-outcome")
    outcome.wait_for()
    assert "delivered" in outcome.inner_text()
    assert "apns-id" in outcome.inner_text()
    assert [token for token, _ in apns.delivered] == ["ab" * 32]
    page.screenshot(path="/tmp/h5-channel.png", full_page=True)

    page.goto("/settings/channels/")
    page.screenshot(path="/tmp/h5-channels.png", full_page=True)
    assert "••••" in page.locator("#channel-table").inner_text()


def test_web_push_keys_are_generated_in_the_dashboard(developer_page):
    page = developer_page
    _add_app(page, "Shop website", "web")
    page.goto("/settings/channels/")
    page.get_by_role("link", name="Set up Web Push for Shop website").click()
    # Nothing saved yet: the form starts on the sandbox, which is what delivers now.
    assert page.get_by_label("Provider", exact=True).input_value() == "sandbox"
    page.get_by_label("Provider", exact=True).select_option("webpush")  # htmx swaps the fields in
    page.get_by_label("Contact (VAPID subject)").fill("mailto:ops@example.test")
    page.get_by_role("button", name="Save").click()
    key = page.locator("#vapid-public-key").inner_text()
    config = ChannelConfig.objects.get()
    assert key == config.options["vapid_public_key"] and len(key) == 87
    page.screenshot(path="/tmp/h5-webpush.png", full_page=True)
    page.get_by_text("New VAPID keys…").click()  # a confirmation step first
    page.get_by_role("button", name="Generate new VAPID keys").click()
    page.get_by_text("New VAPID keys generated").wait_for()
    assert page.locator("#vapid-public-key").inner_text() != key
    page.goto("/settings/apps/")
    assert page.locator(".vapid-key").inner_text() != key


def test_sms_provider_form_validates_senders_in_place(developer_page):
    from messaging.services.providers import app_create

    app = app_create(name="Shop Android", platform="android")
    page = developer_page
    page.goto(f"/settings/channels/{app.app_id}/sms/")
    # Nothing saved yet: the form starts on the sandbox and says it is the one active now.
    assert page.get_by_label("Provider", exact=True).input_value() == "sandbox"
    assert "Active now: Sandbox" in page.locator("#active-provider").inner_text()
    page.screenshot(path="/tmp/h1-channel-unconfigured.png", full_page=True)
    page.get_by_label("Provider", exact=True).select_option("twilio")  # htmx swaps the fields in
    page.get_by_label("Account SID").fill("AC" + "1" * 32)
    page.get_by_label("Auth token").fill("token-never-shown-1234")
    page.get_by_label("Senders").fill("group-1 = 5550001111")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Line 1: write").wait_for()
    assert not ChannelConfig.objects.exists()
    # The secret is not echoed back into the form.
    assert page.get_by_label("Auth token").input_value() == ""
    page.get_by_label("Auth token").fill("token-never-shown-1234")
    page.get_by_label("Senders").fill("group-1 = +15550001111")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("now uses Twilio-compatible Messages API").wait_for()
    assert "token-never-shown-1234" not in page.content()
    assert "••••1234" in page.content()
    assert "Active now: Twilio" in page.locator("#active-provider").inner_text()
    page.screenshot(path="/tmp/h5-sms.png", full_page=True)
