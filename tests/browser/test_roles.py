"""Roles in a real browser: each persona looks for the way to mint a key, save provider
credentials, create a campaign and archive one, and tries the page directly when the way
is hidden. Only what the role allows happens; the rows prove it."""

from __future__ import annotations

import re

import pytest

from campaigns.models import Campaign
from campaigns.services import MessageSpec, campaign_create
from messaging.models import ApiKey, ChannelConfig
from messaging.services.providers import app_create
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALLOWED = {
    "": set(),
    "Viewer": set(),
    "Marketer": {"create campaign", "archive campaign"},
    "Developer": {"mint key", "save credentials"},
}


def _mint_key(page) -> None:
    page.goto("/settings/api-keys/")
    if page.get_by_role("heading", name="Create an API key").count() == 0:
        return
    page.get_by_label("Name", exact=True).fill("from the browser")
    page.get_by_role("button", name="Create key").click()
    page.get_by_test_id("new-key").wait_for()


def _save_credentials(page, app) -> None:
    page.goto(f"/settings/channels/{app.app_id}/sms/")
    if page.get_by_role("button", name="Save").count() == 0:
        return
    page.get_by_label("Provider", exact=True).select_option("twilio")  # htmx swaps the fields
    page.get_by_label("Account SID").fill("AC" + "1" * 32)
    page.get_by_label("Auth token").fill("secret-token-99")
    page.get_by_label("Senders").fill("group-1 = +15550001111")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("now uses Twilio-compatible Messages API").wait_for()


def _create_campaign(page) -> None:
    page.goto("/messaging/campaigns/")
    if page.get_by_role("link", name="Create campaign").count() == 0:
        page.goto("/messaging/campaigns/new/api/")  # the hidden way, typed in
        if page.get_by_label("Title").count() == 0:
            return
    else:
        page.get_by_role("link", name="Create campaign").first.click()
        page.get_by_role("link", name=re.compile("API Campaigns")).click()
    page.get_by_label("Title").fill("From the browser")
    page.get_by_role("button", name="Save campaign").click()
    page.wait_for_url("**/messaging/campaigns/*/")


def _archive(page, campaign) -> None:
    page.goto(campaign.get_absolute_url())
    button = page.get_by_role("button", name="Archive", exact=True)
    if button.count():
        page.once("dialog", lambda dialog: dialog.accept())  # "Archive this campaign?"
        button.click()
        page.get_by_text("Campaign archived").wait_for()


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_in_the_browser(page, live_server, make_user, role):
    make_user("persona", role=role or None)
    campaign = campaign_create(
        name="Existing", messages=[MessageSpec(channel="email", name="Variant 1")], by=None
    )
    app = app_create(name="Phones", platform="android")
    landing = "**/messaging/campaigns/**"
    browser_login(page, "persona", landing=landing)
    if not role:
        assert page.get_by_role("heading", name="You have no role yet").is_visible()

    _mint_key(page)
    _save_credentials(page, app)
    _create_campaign(page)
    _archive(page, campaign)

    campaign.refresh_from_db()
    happened = set()
    if ApiKey.objects.filter(name="from the browser").exists():
        happened.add("mint key")
    if ChannelConfig.objects.filter(channel="sms").exists():
        happened.add("save credentials")
    if Campaign.objects.filter(name="From the browser").exists():
        happened.add("create campaign")
    if campaign.status == Campaign.Status.ARCHIVED:
        happened.add("archive campaign")
    assert happened == ALLOWED[role]
