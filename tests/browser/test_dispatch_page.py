"""The dispatch page in a browser: linked from the campaign, live progress, then no more polling."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign, MessageVariation
from messaging.delivery import run as pipeline
from messaging.models import Dispatch, Profile, PushToken

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _eager(settings):
    from config.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_dispatch_page_shows_progress_live_and_stops_polling(
    logged_in_page, live_server, api_key, monkeypatch
):
    page = logged_in_page
    campaign = Campaign.objects.create(name="Order shipped", status=Campaign.Status.ACTIVE)
    email = MessageVariation.objects.create(campaign=campaign, channel="email", name="Email A")
    push = MessageVariation.objects.create(campaign=campaign, channel="apple_push", name="iOS A")
    for i, name in enumerate(["Ada", "Grace", "Linus"]):
        profile = Profile.objects.create(
            external_id=f"u{i}", first_name=name, email=f"u{i}@example.test"
        )
        PushToken.objects.create(profile=profile, app_id="ios", token=f"token-{i}")

    # Hold delivery back (as if the worker were busy) to watch the page change live.
    monkeypatch.setattr("messaging.services.dispatch._enqueue", lambda pk: None)
    response = httpx.post(
        f"{live_server.url}/messages/send",
        headers={"Authorization": f"Bearer {api_key[1]}"},
        json={
            "campaign_id": campaign.campaign_id,
            "external_user_ids": ["u0", "u1", "u2"],
            "messages": {
                "email": {
                    "app_id": "a",
                    "message_variation_id": email.message_variation_id,
                    "from": "Acme <o@acme.test>",
                    "subject": "Hi {{${first_name}}}",
                    "body": "<p>Hello {{${first_name}}}</p>",
                },
                "apple_push": {
                    "message_variation_id": push.message_variation_id,
                    "alert": "Shipped, {{${first_name}}}",
                },
            },
        },
    )
    assert response.status_code == 201
    dispatch_id = response.json()["dispatch_id"]

    page.goto(f"/messaging/campaigns/{campaign.api_id}/")
    page.get_by_role("link", name=dispatch_id[:12]).click()
    page.wait_for_url(f"**/messaging/dispatches/{dispatch_id}/")
    expect(page.locator("#dispatch-status")).to_have_text("Queued")
    expect(page.locator("#stat-delivered")).to_have_text("0")

    polls = []
    page.on(
        "request",
        lambda request: (
            polls.append(request.url)
            if request.headers.get("hx-request") and dispatch_id in request.url
            else None
        ),
    )
    pipeline.dispatch_run(dispatch_pk=Dispatch.objects.get(dispatch_id=dispatch_id).pk)

    # The next poll (every 2 s) brings the final numbers and the recipients.
    expect(page.locator("#dispatch-status")).to_have_text("Done", timeout=6000)
    # Email delivered; push carried by the sandbox, counted apart (never as delivered).
    expect(page.locator("#stat-delivered")).to_have_text("3")
    expect(page.locator("#stat-sandboxed")).to_have_text("3")
    expect(page.locator("#stat-resolved")).to_contain_text("3")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    rows = page.locator("table.recipients tbody tr")
    expect(rows).to_have_count(6)
    expect(page.get_by_text("Hi Grace", exact=True)).to_be_visible()
    expect(page.get_by_text("Shipped, Linus", exact=True)).to_be_visible()
    # Push went to the sandbox and says so, on the row and in a note.
    expect(page.locator("table.recipients .badge.sandbox")).to_have_count(3)
    expect(page.locator(".sandbox-note")).to_be_visible()
    page.screenshot(path="/tmp/h3-dispatch.png", full_page=True)

    # 286 stopped the polling: no request for this dispatch in the next 5 seconds.
    seen = len(polls)
    page.wait_for_timeout(5000)
    assert len(polls) == seen

    # The campaign page lists the send with its numbers.
    page.goto(f"/messaging/campaigns/{campaign.api_id}/")
    row = page.locator("#dispatch-table tbody tr").first
    expect(row).to_contain_text("Done")
    expect(row).to_contain_text("Email, iOS")
    page.screenshot(path="/tmp/h3-campaign.png", full_page=True)
