"""A marketer reads a campaign's results after a real send through the API."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.models import ConversionEvent
from messaging.services import tracking as tracking_services
from messaging.tracking import links as tracking
from tests.analytics.helpers import make_campaign, make_profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _links(message, kind: str) -> list[str]:
    html = message.alternatives[0][0]
    return [urlsplit(u).path for u in re.findall(r'(?:href|src)="([^"]+)"', html)
            if f"/t/{kind}/" in u]


def test_results_page_after_a_real_send(logged_in_page, api, client, monkeypatch):
    # Opens right after sending would be flagged as machine opens; this test opens at once.
    monkeypatch.setattr(tracking_services, "MACHINE_OPEN_DELAY", timedelta(0))
    campaign = make_campaign(
        name="Spring sale", variations=[("email", "Plain"), ("email", "Bold")],
        conversions=[(ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                      {"custom_event_name": "checkout", "window": timedelta(days=1)})])
    plain, bold = campaign.variations.all()
    for i in range(6):
        make_profile(f"user{i}")
    for variation, users in ((plain, ["user0", "user1", "user2"]),
                             (bold, ["user3", "user4", "user5"])):
        response = api.post("/messages/send", {
            "campaign_id": str(campaign.api_id), "external_user_ids": users,
            "messages": {"email": {
                "app_id": "web", "message_variation_id": str(variation.api_id),
                "from": "Shop <shop@example.test>", "subject": f"Sale ({variation.name})",
                "body": '<html><body><p>Hi</p><a href="https://shop.example/sale">Shop</a>'
                        "</body></html>"}},
        })
        assert response.status_code == 201, response.content
    assert len(mail.outbox) == 6
    by_user = {m.to[0].split("@")[0]: m for m in mail.outbox}
    for user in ("user0", "user3", "user4"):  # one open in Plain, two in Bold
        assert client.get(_links(by_user[user], "o")[0]).status_code == 200
    assert client.get(_links(by_user["user4"], "c")[0])["Location"] == "https://shop.example/sale"
    track = api.post("/users/track", {"events": [
        {"external_id": "user4", "name": "checkout", "time": timezone.now().isoformat()}]})
    assert track.status_code == 201, track.content

    page = logged_in_page
    # The campaigns list fills each row's headline cell out of band after loading.
    page.goto("/messaging/campaigns/")
    headline = page.locator(f"#headline-{campaign.api_id}")
    headline.get_by_text("6 sent").wait_for()
    assert "3 unique opens" in headline.inner_text()

    page.goto(f"/messaging/campaigns/{campaign.api_id}/results/")
    page.get_by_role("heading", name="Results").wait_for()

    def cell(variation, metric):
        return page.locator(f'tr[data-variation="{variation}"] td[data-metric="{metric}"]')

    assert cell(plain.api_id, "sends").inner_text() == "3"
    assert cell(bold.api_id, "sends").inner_text() == "3"
    assert cell(plain.api_id, "unique_opens").inner_text().startswith("1")
    assert cell(bold.api_id, "unique_opens").inner_text().startswith("2")
    assert cell(bold.api_id, "unique_clicks").inner_text().startswith("1")
    assert cell(bold.api_id, "conversions").inner_text().startswith("1")
    assert cell("total", "sends").inner_text() == "6"
    assert cell("total", "deliveries").inner_text().startswith("6")
    chart = page.locator("#results-chart svg.chart")
    assert chart.count() == 1 and chart.locator("polyline.series").count() == 2
    page.screenshot(path="/tmp/h4-results.png", full_page=True)

    # Retarget the openers of "Bold" and find the segment under Audience → Segments.
    page.get_by_label("Profiles who").select_option("opened")
    page.get_by_label("Variation").select_option(str(bold.api_id))
    page.get_by_role("button", name="Create segment").click()
    page.wait_for_url("**/audience/segments/")
    assert page.locator('td[data-metric="size"]').inner_text() == "2"
    page.screenshot(path="/tmp/h4-segments.png", full_page=True)


def test_empty_results_and_unsubscribe_pages(logged_in_page):
    campaign = make_campaign(name="Not sent yet")
    page = logged_in_page
    page.goto(f"/messaging/campaigns/{campaign.api_id}/results/")
    page.get_by_role("heading", name="Nothing sent yet").wait_for()
    assert page.locator("svg.chart").count() == 0
    page.screenshot(path="/tmp/h4-empty.png", full_page=True)

    from messaging.models import Delivery, Dispatch

    profile = make_profile("reader", email="reader@example.test")
    delivery = Delivery.objects.create(dispatch=Dispatch.objects.create(campaign=campaign),
                                       profile=profile, channel="email", campaign=campaign,
                                       variation=campaign.variations.get())
    page.goto(urlsplit(tracking.unsubscribe_url(delivery.message_id)).path)
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    page.screenshot(path="/tmp/h4-unsubscribe.png", full_page=True)
    profile.refresh_from_db()
    assert profile.email_subscribe == "unsubscribed"
