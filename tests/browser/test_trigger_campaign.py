"""An API-triggered campaign built in the browser: create it, write it, preview it, test it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign
from messaging.models import Delivery, Profile
from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _eager(settings):
    from config.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_marketer_builds_previews_and_tests_an_api_triggered_campaign(logged_in_page):
    page = logged_in_page
    Profile.objects.create(external_id="ada", first_name="Ada", email="ada@example.test")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    page.goto("/messaging/campaigns/new/")
    page.get_by_role("link", name="API-triggered campaign").click()
    expect(page.get_by_role("heading", name="New API-triggered campaign")).to_be_visible()
    page.get_by_label("Title").fill("Order shipped (triggered)")
    page.get_by_label("Channel", exact=True).select_option(label="Email")
    page.get_by_role("button", name="Add message").click()
    expect(page.get_by_test_id("message-row")).to_have_count(1)
    page.get_by_role("button", name="Save campaign").click()
    expect(page.locator("#campaign-kind")).to_have_text("API-triggered campaign")
    expect(page.locator("#curl-example")).to_contain_text("/campaigns/trigger/send")
    campaign = Campaign.objects.get()
    assert campaign.is_api_triggered

    page.get_by_role("link", name="Content", exact=True).first.click()
    variant = page.get_by_test_id("variant")
    expect(variant).to_contain_text("Not written yet")
    variant.get_by_label("App ID").fill("app")
    variant.get_by_label("From").fill("Acme <orders@acme.test>")
    variant.get_by_label("Subject").fill("Order {{api_trigger_properties.${order}}} shipped")
    variant.get_by_label("Body (HTML)").fill("<p>Hi {{${first_name}}}</p>")
    page.get_by_role("button", name="Save content").click()
    expect(page.get_by_text("Content saved.")).to_be_visible()
    expect(page.get_by_test_id("variant")).to_contain_text("Written")

    page.get_by_label("Profile (external ID)").fill("ada")
    page.get_by_label("Trigger properties (JSON)").fill('{"order": "A-1001"}')
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("Order A-1001 shipped")
    expect(preview).to_contain_text("<p>Hi Ada</p>")
    page.screenshot(path=str(ARTIFACTS / "trigger-content-preview.png"), full_page=True)

    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_text("Test of Email · Variant 1 sent to ada")).to_be_visible()
    expect(page.locator("#dispatch-status")).to_have_text("Done")
    page.screenshot(path=str(ARTIFACTS / "trigger-send-test.png"), full_page=True)
    delivery = Delivery.objects.get()
    assert delivery.rendered["subject"] == "Order A-1001 shipped"
    assert delivery.profile.external_id == "ada"
