"""Dates in a real browser: one style on the campaign, Sends, profile and API-key pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from campaigns.models import Campaign
from campaigns.services import MessageSpec, campaign_create
from messaging.models import ApiKey, Dispatch, Profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MOMENT = datetime(2026, 11, 28, 19, 8, 27, tzinfo=UTC)
SHOWN = "28 Nov 2026, 19:08"
HOVER = "28 Nov 2026, 19:08:27 UTC"


def test_every_page_shows_the_same_date_style(admin_member_page, marketer, make_api_key):
    page = admin_member_page
    campaign = campaign_create(
        name="Order shipped", messages=[MessageSpec(channel="email", name="Variant 1")], by=marketer
    )
    Campaign.objects.filter(pk=campaign.pk).update(created_at=MOMENT, last_sent_at=MOMENT)
    dispatch = Dispatch.objects.create(campaign=campaign, messages={"email": {}})
    Dispatch.objects.filter(pk=dispatch.pk).update(created_at=MOMENT)
    profile = Profile.objects.create(external_id="ada")
    Profile.objects.filter(pk=profile.pk).update(created_at=MOMENT, updated_at=MOMENT)
    key, _ = make_api_key(name="Shop backend")
    ApiKey.objects.filter(pk=key.pk).update(created_at=MOMENT)

    for url, name in [
        (campaign.get_absolute_url(), "campaign"),
        ("/messaging/dispatches/", "sends"),
        (f"/messaging/dispatches/{dispatch.dispatch_id}/", "send"),
        ("/audience/profiles/", "profiles"),
        (f"/audience/profiles/{profile.braze_id}/", "profile"),
        ("/settings/api-keys/", "api-keys"),
    ]:
        page.goto(url)
        stamp = page.locator(f'time[datetime="{MOMENT.isoformat()}"]').first
        assert stamp.inner_text() == SHOWN, url
        assert stamp.get_attribute("title") == HOVER, url
        text = page.locator("main").inner_text()
        assert not re.search(r"[ap]\.m\.|Nov\. 28|Nov 28,|2026-11-28", text), url
        page.screenshot(path=f"/tmp/h1-dates-{name}.png", full_page=True)
