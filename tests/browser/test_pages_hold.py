"""Pages that hold: long titles, phone widths, htmx errors where the user acted, confirmations."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.analytics.helpers import make_campaign, make_profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG = "Q" * 200  # the longest title allowed, with nowhere to break


@pytest.fixture
def campaigns():
    long = make_campaign(name=LONG, variations=[("email", "Variant 1"), ("apple_push", "iOS")])
    make_campaign(name="Order shipped")
    return long


def _overflow(page) -> int:
    """How far the page is wider than the viewport (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("width", [1366, 390])
def test_a_long_title_keeps_every_list_column_on_screen(logged_in_page, campaigns, width):
    page = logged_in_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/messaging/campaigns/")
    row = page.locator("#campaign-table tbody tr", has_text="QQQQ")
    cells = row.locator("td")
    expect(cells).to_have_count(7)
    for index in range(7):
        box = cells.nth(index).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (index, box)
    assert _overflow(page) <= 0
    # Shortened to two lines, with the whole title on hover.
    title = row.locator("a.row-title")
    assert title.get_attribute("title") == LONG
    assert title.bounding_box()["height"] < 60

    page.goto(f"/messaging/campaigns/{campaigns.api_id}/")
    assert _overflow(page) <= 0
    expect(page.locator("#campaign-title")).to_have_text(LONG)
    if width == 390:
        page.screenshot(path="/tmp/h13-campaign-390.png", full_page=True)
        page.goto("/messaging/campaigns/")
        page.screenshot(path="/tmp/h13-list-390.png", full_page=True)
    else:
        page.goto("/messaging/campaigns/")
        page.screenshot(path="/tmp/h13-list-1366.png", full_page=True)


def test_date_range_error_shows_after_an_htmx_apply(logged_in_page, campaigns):
    page = logged_in_page
    page.goto(f"/messaging/campaigns/{campaigns.api_id}/results/")
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("From").fill("2026-12-10")
    page.get_by_label("To").fill("2026-12-01")
    page.get_by_role("button", name="Apply").click()
    error = page.locator("#filter-errors")
    expect(error).to_have_text("The start date must be on or before the end date.")
    expect(error).to_have_attribute("role", "alert")
    # Swapped in by htmx: the page was not reloaded.
    assert page.evaluate("window.__sameDocument") is True
    # Right under the filters the user just used.
    form_box = page.locator("form.filters").bounding_box()
    assert 0 <= error.bounding_box()["y"] - (form_box["y"] + form_box["height"]) < 80
    # A valid range takes it away again.
    page.get_by_label("From").fill("2026-11-20")
    page.get_by_role("button", name="Apply").click()
    expect(error).to_have_count(0)


def test_a_failed_htmx_request_says_so_where_the_user_acted(logged_in_page, campaigns):
    page = logged_in_page
    page.goto(f"/messaging/campaigns/{campaigns.api_id}/results/")
    page.route("**/results/?*", lambda route: route.fulfill(status=500, body="boom"))
    page.get_by_role("button", name="Apply").click()
    note = page.locator("form.filters + .htmx-error")
    expect(note).to_contain_text("the server answered 500")


def test_archive_asks_first(logged_in_page, campaigns):
    page = logged_in_page
    page.goto(f"/messaging/campaigns/{campaigns.api_id}/")
    answers = iter([False, True])
    messages = []

    def answer(dialog):
        messages.append(dialog.message)
        dialog.accept() if next(answers) else dialog.dismiss()

    page.on("dialog", answer)
    page.get_by_role("button", name="Archive").click()
    page.wait_for_timeout(300)
    campaigns.refresh_from_db()
    assert campaigns.status != Campaign.Status.ARCHIVED
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("button", name="Unarchive")).to_be_visible()
    campaigns.refresh_from_db()
    assert campaigns.status == Campaign.Status.ARCHIVED
    assert "Archive this campaign?" in messages[0]


def test_results_at_390_show_that_they_scroll_and_keep_a_readable_chart(
    logged_in_page, campaigns, api, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_profile("u1", "u1@example.test")
    variation = campaigns.variations.get(channel="email")
    response = api.post("/messages/send", {
        "campaign_id": str(campaigns.api_id), "external_user_ids": ["u1"],
        "messages": {"email": {"app_id": "a", "message_variation_id": str(variation.api_id),
                               "from": "A <a@acme.test>", "subject": "Hi", "body": "<p>Hi</p>"}},
    })
    assert response.status_code == 201 and len(mail.outbox) == 1
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"/messaging/campaigns/{campaigns.api_id}/results/")
    expect(page.locator(".scroll-hint")).to_be_visible()
    # The row heading (channel · variant) stays in view while the numbers scroll.
    wrap = page.locator("#results-table").locator("xpath=..")
    wrap.evaluate("el => el.scrollLeft = el.scrollWidth")
    heading = page.locator("#results-table tbody th").first
    assert heading.bounding_box()["x"] >= 0
    expect(heading).to_contain_text("Email")
    # Axis labels at least 9 px high, as on a desktop (11 px there).
    label_height = page.locator("#results-chart svg.chart text").first.bounding_box()["height"]
    assert label_height >= 9, label_height
    assert _overflow(page) <= 0
    page.screenshot(path="/tmp/h13-results-390.png", full_page=True)


def test_the_editor_help_panel_stays_at_the_top_with_five_messages(logged_in_page):
    campaign = make_campaign(name="Five", variations=[
        ("email", "A"), ("email", "B"), ("sms", "A"), ("apple_push", "A"), ("webhook", "A")])
    page = logged_in_page
    page.goto(f"/messaging/campaigns/{campaign.api_id}/edit/")
    page.mouse.wheel(0, 3000)
    page.wait_for_timeout(200)
    top = "el => el.getBoundingClientRect().top + window.scrollY"
    aside = page.locator(".editor-aside").evaluate(top)
    form = page.locator("#campaign-editor").evaluate(top)
    assert abs(aside - form) < 2, (aside, form)
    page.screenshot(path="/tmp/h13-editor-1280.png", full_page=True)
