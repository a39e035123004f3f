"""Templates & Media and Settings › Subscription groups in a real browser: axe finds no
violation on any of them, empty or full, and a developer adds an SMS group."""

from __future__ import annotations

import json

import pytest

from assets import services
from messaging.models import SubscriptionGroup
from tests.assets.images import png
from tests.browser.test_accessibility import _violations
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = ["/assets/email-templates/", "/assets/email-templates/new/",
         "/assets/content-blocks/", "/assets/content-blocks/new/", "/assets/media/",
         "/settings/subscription-groups/"]


def _check(page, paths):
    problems = {}
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        found = _violations(page)
        if found:
            problems[path] = found
    assert not problems, json.dumps(problems, indent=1)


def test_pages_have_no_axe_violation_empty_and_full(admin_member_page):
    page = admin_member_page
    _check(page, PAGES)
    block = services.content_block_create(fields=services.BlockFields(
        name="footer", content="<p>Acme · {{${first_name}}}</p>", description="Legal"))
    template = services.email_template_create(fields=services.TemplateFields(
        name="Receipt", subject="Hi {{${first_name}}}",
        body="<h1>Paid</h1>{{content_blocks.${footer}}}"))
    services.media_asset_create(name="logo.png", data=png(8, 8))
    _check(page, [*PAGES, f"/assets/email-templates/{template.email_template_id}/",
                  f"/assets/content-blocks/{block.content_block_id}/"])
    page.goto(f"/assets/content-blocks/{block.content_block_id}/")
    frame = page.frame_locator("iframe.preview-frame")
    assert frame.locator("p").inner_text() == "Acme · Ada"
    page.screenshot(path="test-artifacts/assets-content-block.png", full_page=True)


def test_a_developer_adds_an_sms_group_and_copies_its_id(page, live_server, developer):
    browser_login(page, "developer")
    page.goto("/settings/")
    page.get_by_role("link", name="Subscription groups").first.click()
    assert page.get_by_role("heading", name="No subscription groups yet").is_visible()
    page.get_by_label("Name").fill("Order texts")
    page.get_by_label("Channel").select_option("sms")
    page.get_by_label("Sender numbers").fill("+14155550100")
    page.get_by_role("button", name="Add group").click()
    group = SubscriptionGroup.objects.get()
    page.get_by_text(f"Its ID is {group.group_id}").wait_for()
    row = page.locator("#group-table tr", has_text="Order texts")
    assert row.locator("[data-copy]").get_attribute("data-copy") == group.group_id
    assert "+14155550100" in row.inner_text()
    page.screenshot(path="test-artifacts/subscription-groups.png", full_page=True)
