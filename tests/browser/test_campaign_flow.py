"""A new marketer creates an API campaign end to end in a real browser and copies its IDs."""

import re

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = "/tmp/h1-{}.png"


def test_marketer_creates_api_campaign_and_reads_ids(logged_in_page):
    page = logged_in_page
    page.screenshot(path=SHOTS.format("list-empty"), full_page=True)
    expect(page.get_by_role("heading", name="Create your first API campaign")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messaging").click()
    page.get_by_role("navigation", name="Messaging").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="Create campaign").first.click()
    expect(page.get_by_text("API-triggered campaign")).to_be_visible()
    page.screenshot(path=SHOTS.format("type-choice"), full_page=True)
    page.get_by_role("link", name=re.compile("API Campaigns")).click()

    page.get_by_label("Title").fill("Order shipped")
    page.get_by_label("Tags").fill("orders, transactional")
    for channel in ("Email", "SMS/MMS", "Webhook"):
        count = page.get_by_test_id("message-row").count()
        page.get_by_label("Channel", exact=True).select_option(label=channel)
        page.get_by_role("button", name="Add message").click()
        # htmx swaps the section in place: the page is not reloaded and the title stays typed.
        expect(page.get_by_test_id("message-row")).to_have_count(count + 1)
        # The new message's name box takes the focus, ready to rename the variant.
        expect(page.locator(f"#id_msg-{count}-name")).to_be_focused()
    expect(page.get_by_label("Title")).to_have_value("Order shipped")

    page.get_by_role("button", name="Add conversion event").click()
    expect(page.locator("#id_conv-0-kind")).to_be_focused()
    page.get_by_label("Event", exact=True).select_option(label="Performs custom event")
    page.get_by_label("Custom event name").fill("order_reviewed")
    page.get_by_label("Conversion deadline").fill("12")
    page.get_by_label("Deadline unit").select_option("hours")
    page.screenshot(path=SHOTS.format("config-filled"), full_page=True)
    page.get_by_role("button", name="Save campaign").click()

    page.wait_for_url(re.compile(r"/messaging/campaigns/[0-9a-f-]{36}/$"))
    expect(page.get_by_text("Campaign created.")).to_be_visible()
    page.screenshot(path=SHOTS.format("campaign-page"), full_page=True)

    campaign = Campaign.objects.get()
    assert page.get_by_test_id("campaign-id").inner_text() == str(campaign.api_id)
    assert page.url.endswith(f"/{campaign.api_id}/")
    shown = page.get_by_test_id("variation-id").all_inner_texts()
    variations = list(campaign.variations.all())
    assert shown == [str(v.api_id) for v in variations]
    assert [v.channel for v in variations] == ["email", "sms", "webhook"]
    rows = page.get_by_test_id("variation-row").all_inner_texts()
    assert "Email" in rows[0] and "SMS/MMS" in rows[1] and "Webhook" in rows[2]
    event = campaign.conversion_events.get()
    assert (event.kind, event.custom_event_name, event.window.total_seconds()) == (
        "Performs Custom Event",
        "order_reviewed",
        43200,
    )
    assert campaign.status == "active" and campaign.created_by.username == "marketer"
    curl = page.locator("#curl-example").inner_text()
    assert str(campaign.api_id) in curl and all(str(v.api_id) in curl for v in variations)

    # The copy button puts the ID on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy campaign ID").click()
    expect(page.get_by_role("button", name="Copy campaign ID")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == str(campaign.api_id)

    # Back on the list, live search finds it.
    page.get_by_role("link", name="Campaigns").first.click()
    page.get_by_label("Search by name").fill("shipp")
    expect(page).to_have_url(re.compile(r"q=shipp"))
    expect(page.get_by_role("link", name="Order shipped")).to_be_visible()
    page.get_by_label("Search by name").fill("nothing like it")
    expect(page.get_by_text("No campaign matches these filters")).to_be_visible()
    page.get_by_label("Search by name").fill("")
    expect(page.get_by_role("link", name="Order shipped")).to_be_visible()
    page.screenshot(path=SHOTS.format("list-full"), full_page=True)


def test_config_page_works_without_javascript(browser, live_server, marketer):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/login/")
        page.get_by_label("Username").fill("marketer")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Log in").click()
        page.goto("/messaging/campaigns/new/api/")
        page.get_by_label("Title").fill("No JS")
        page.get_by_label("Channel", exact=True).select_option(label="iOS")
        page.get_by_role("button", name="Add message").click()
        expect(page.get_by_test_id("message-row")).to_have_count(1)
        expect(page.get_by_label("Title")).to_have_value("No JS")
        page.get_by_role("button", name="Save campaign").click()
        page.wait_for_url(re.compile(r"/messaging/campaigns/[0-9a-f-]{36}/$"))
        campaign = Campaign.objects.get()
        assert campaign.variations.get().channel == "apple_push"
        assert page.get_by_test_id("variation-id").inner_text() == str(
            campaign.variations.get().api_id
        )
    finally:
        context.close()


def test_login_page_and_small_screen(page, marketer):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/messaging/campaigns/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    page.screenshot(path=SHOTS.format("login-mobile"), full_page=True)
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/messaging/campaigns/")
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Messaging", "Audience", "Settings"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    # Nothing overflows sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=SHOTS.format("list-mobile"), full_page=True)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()


def test_edit_renames_removes_and_keeps_ids(logged_in_page, marketer):
    from campaigns.services import MessageSpec, campaign_create

    campaign = campaign_create(
        name="Welcome",
        messages=[MessageSpec("email", "Variant 1"), MessageSpec("sms", "Variant 1")],
        by=marketer,
    )
    email, sms = campaign.variations.all()
    page = logged_in_page
    page.goto(campaign.get_absolute_url())
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_test_id("message-row").first).to_contain_text(str(email.api_id))
    page.get_by_label("Variant name of Email message 1").fill("Control")
    page.get_by_role("button", name="Remove SMS/MMS message Variant 1").click()
    expect(page.get_by_test_id("message-row")).to_have_count(1)
    page.screenshot(path=SHOTS.format("edit"), full_page=True)
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_text("Campaign saved.")).to_be_visible()
    assert page.get_by_test_id("variation-id").all_inner_texts() == [str(email.api_id)]
    email.refresh_from_db()
    assert email.name == "Control"
    assert not campaign.variations.filter(api_id=sms.api_id).exists()

    page.once("dialog", lambda dialog: dialog.accept())  # "Archive this campaign?"
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("note")).to_contain_text("Archived by marketer")
    assert Campaign.objects.get(pk=campaign.pk).status == "archived"
    page.screenshot(path=SHOTS.format("archived"), full_page=True)
    page.get_by_role("button", name="Duplicate").click()
    expect(page.get_by_role("heading", name="Copy of Welcome")).to_be_visible()
    copy = campaign.__class__.objects.get(name="Copy of Welcome")
    assert (
        page.get_by_test_id("campaign-id").inner_text() == str(copy.api_id) != str(campaign.api_id)
    )


def test_list_filters_and_pages_in_browser(logged_in_page, marketer):
    from campaigns.services import MessageSpec, campaign_archive, campaign_create

    for index in range(22):
        campaign_create(
            name=f"Receipt {index:02d}",
            tags=["billing"] if index % 2 else ["orders"],
            messages=[MessageSpec("email", "Variant 1")] if index % 3 else [],
            by=marketer,
        )
    campaign_archive(campaign=Campaign.objects.get(name="Receipt 05"), by=marketer)
    page = logged_in_page
    page.reload()
    expect(page.get_by_text("22 campaigns")).to_be_visible()
    page.screenshot(path=SHOTS.format("list-many"), full_page=True)

    page.get_by_label("Status").select_option("draft")
    expect(page).to_have_url(re.compile(r"status=draft"))
    drafts = Campaign.objects.filter(status="draft").count()
    expect(page.get_by_text(f"{drafts} campaigns match")).to_be_visible()
    page.get_by_label("Status").select_option("archived")
    expect(page.get_by_role("link", name="Receipt 05")).to_be_visible()
    expect(page.locator("#campaign-table tbody tr")).to_have_count(1)

    page.get_by_label("Status").select_option("")
    page.get_by_label("Tag").select_option("billing")
    expect(page.get_by_text("11 campaigns match")).to_be_visible()
    page.get_by_label("Tag").select_option("")
    page.get_by_role("link", name="Next →").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.locator("#campaign-table tbody tr")).to_have_count(2)
