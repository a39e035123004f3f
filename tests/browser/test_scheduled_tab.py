"""The Scheduled tab in a browser: from the campaign page, move a scheduled message, cancel it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign, MessageVariation
from messaging.models import Profile, ScheduledMessage
from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_moves_then_cancels_a_scheduled_message(logged_in_page, live_server, api_key):
    page = logged_in_page
    campaign = Campaign.objects.create(name="Spring sale", status=Campaign.Status.ACTIVE)
    email = MessageVariation.objects.create(campaign=campaign, channel="email", name="Email A")
    Profile.objects.create(external_id="ada", email="ada@example.test")
    answer = page.request.post(
        f"{live_server.url}/messages/schedule/create",
        headers={"Authorization": f"Bearer {api_key[1]}", "Content-Type": "application/json"},
        data=json.dumps({
            "campaign_id": campaign.campaign_id, "external_user_ids": ["ada"],
            "schedule": {"time": "2099-03-01T10:00:00Z"},
            "messages": {"email": {
                "app_id": "a", "message_variation_id": email.message_variation_id,
                "from": "o@acme.test", "subject": "Sale", "body": "B",
            }},
        }),
    )
    assert answer.status == 201
    schedule_id = answer.json()["schedule_id"]

    page.goto(f"/messaging/campaigns/{campaign.api_id}/")
    page.get_by_role("link", name="Scheduled").click()
    expect(page.get_by_role("heading", name="Scheduled messages of Spring sale")).to_be_visible()
    row = page.get_by_test_id("pending-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(schedule_id)
    expect(row).to_contain_text("Everyone at once")

    row.get_by_text("Change time…").click()
    row.get_by_label("Date and time").fill("2099-04-05T06:07")
    row.get_by_label("Read as").select_option("local")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "scheduled-tab-move.png"), full_page=True)
    row.get_by_role("button", name="Move").click()
    expect(page.get_by_text("Scheduled message moved.")).to_be_visible()
    expect(page.get_by_test_id("pending-row")).to_contain_text("2099-04-05 06:07")
    expect(page.get_by_test_id("pending-row")).to_contain_text("Each user's time zone")
    moved = ScheduledMessage.objects.get()
    assert moved.in_local_time and moved.time == datetime(2099, 4, 5, 6, 7, tzinfo=UTC)

    page.get_by_test_id("pending-row").get_by_text("Cancel…").click()
    page.get_by_role("button", name="Cancel this message").click()
    expect(page.get_by_text("Scheduled message cancelled")).to_be_visible()
    expect(page.locator("#pending-empty")).to_be_visible()
    expect(page.get_by_test_id("past-row")).to_contain_text("Cancelled")
    expect(page.get_by_test_id("past-row")).to_contain_text("by marketer")
    page.screenshot(path=str(ARTIFACTS / "scheduled-tab-cancelled.png"), full_page=True)
    assert ScheduledMessage.objects.get().status == "cancelled"
