"""Bad input on the configuration page: a clear message next to the field, nothing saved."""

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign, ConversionEvent, MessageVariation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CREATE = "/messaging/campaigns/new/api/"


def _nothing_saved() -> bool:
    return not (
        Campaign.objects.exists()
        or MessageVariation.objects.exists()
        or ConversionEvent.objects.exists()
    )


def _add_message(page, label: str) -> None:
    page.get_by_label("Channel", exact=True).select_option(label=label)
    count = page.get_by_test_id("message-row").count()
    page.get_by_role("button", name="Add message").click()
    expect(page.get_by_test_id("message-row")).to_have_count(count + 1)
    # htmx moves the focus to the new row once swapped; wait for it before typing elsewhere.
    expect(page.locator(f"#id_msg-{count}-name")).to_be_focused()


def _add_conversion(page) -> None:
    count = page.get_by_test_id("conversion-row").count()
    page.get_by_role("button", name="Add conversion event").click()
    expect(page.get_by_test_id("conversion-row")).to_have_count(count + 1)
    expect(page.locator(f"#id_conv-{count}-kind")).to_be_focused()


def _save_and_expect_error(page, field_id: str, text: str, shot: str) -> None:
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("alert").first).to_contain_text("Nothing was saved")
    error = page.locator(f"#{field_id}")
    expect(error).to_contain_text(text)
    page.screenshot(path=f"/tmp/h1-bad-{shot}.png", full_page=True)
    assert _nothing_saved()


def test_empty_title(logged_in_page):
    page = logged_in_page
    page.goto(CREATE)
    _add_message(page, "Email")
    _save_and_expect_error(page, "id_name_error", "Give the campaign a title", "empty-title")
    # The field is marked invalid and described by its error, and the message row survived.
    expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("message-row")).to_have_count(1)


def test_fifth_conversion_event(logged_in_page):
    page = logged_in_page
    page.goto(CREATE)
    page.get_by_label("Title").fill("Five conversions")
    for _ in range(4):
        _add_conversion(page)
    expect(page.get_by_role("button", name="Add conversion event")).to_be_disabled()
    expect(page.locator("#conversions-section")).to_contain_text("at most 4 conversion events")
    # Forge a fifth row by hand, as a crafted post would.
    page.evaluate("""() => {
        const rows = document.querySelectorAll('[data-testid=conversion-row]');
        const clone = rows[rows.length - 1].cloneNode(true);
        clone.querySelectorAll('[name]').forEach(
            el => { el.name = el.name.replace('conv-3-', 'conv-4-'); });
        rows[rows.length - 1].after(clone);
        document.querySelector('[name=conv-TOTAL_FORMS]').value = '5';
    }""")
    _save_and_expect_error(
        page, "conversions-errors", "at most 4 conversion events", "fifth-conversion"
    )


def test_unknown_channel_posted_by_hand(logged_in_page):
    page = logged_in_page
    page.goto(CREATE)
    page.get_by_label("Title").fill("Pigeon post")
    _add_message(page, "Webhook")
    page.evaluate(
        "() => { document.querySelector('[name=\"msg-0-channel\"]').value = 'carrier_pigeon'; }"
    )
    _save_and_expect_error(
        page, "id_msg-0-channel_error", "not a channel Herald can send on", "unknown-channel"
    )


@pytest.mark.parametrize(("value", "unit"), [("31", "days"), ("0", "hours"), ("721", "hours")])
def test_deadline_out_of_range(logged_in_page, value, unit):
    page = logged_in_page
    page.goto(CREATE)
    page.get_by_label("Title").fill("Deadline")
    _add_conversion(page)
    page.get_by_label("Conversion deadline").fill(value)
    page.get_by_label("Deadline unit").select_option(unit)
    _save_and_expect_error(
        page,
        "id_conv-0-deadline_value_error",
        "between 1 hour and 30 days",
        f"deadline-{value}{unit}",
    )
    expect(page.get_by_label("Conversion deadline")).to_have_value(value)


def test_custom_event_without_name(logged_in_page):
    page = logged_in_page
    page.goto(CREATE)
    page.get_by_label("Title").fill("Custom")
    _add_conversion(page)
    page.get_by_label("Event", exact=True).select_option(label="Performs custom event")
    _save_and_expect_error(
        page, "id_conv-0-custom_event_name_error", "Name the custom event", "custom-without-name"
    )
    expect(page.get_by_label("Custom event name")).to_be_visible()


def test_specific_purchase_without_product(logged_in_page):
    page = logged_in_page
    page.goto(CREATE)
    page.get_by_label("Title").fill("Purchase")
    _add_conversion(page)
    # The product box only appears for a specific purchase.
    expect(page.get_by_label("Product")).to_be_hidden()
    page.get_by_label("Event", exact=True).select_option(label="Makes purchase (specific product)")
    expect(page.get_by_label("Product")).to_be_visible()
    _save_and_expect_error(
        page, "id_conv-0-product_id_error", "Name the product", "purchase-without-product"
    )


def test_errors_then_fix_saves_once(logged_in_page):
    page = logged_in_page
    page.goto(CREATE)
    _add_message(page, "SMS/MMS")
    _save_and_expect_error(page, "id_name_error", "Give the campaign a title", "before-fix")
    page.get_by_label("Title").fill("Fixed")
    page.get_by_role("button", name="Save campaign").click()
    page.wait_for_url("**/messaging/campaigns/*-*/")
    campaign = Campaign.objects.get()
    assert campaign.name == "Fixed" and campaign.variations.get().channel == "sms"


def test_enter_in_title_saves_instead_of_removing_a_message(logged_in_page):
    page = logged_in_page
    page.goto(CREATE)
    _add_message(page, "Email")
    page.get_by_label("Title").fill("Pressed enter")
    page.get_by_label("Title").press("Enter")
    page.wait_for_url("**/messaging/campaigns/*-*/")
    campaign = Campaign.objects.get()
    assert campaign.name == "Pressed enter" and campaign.variations.get().channel == "email"
