"""Audience in a real browser: list, live search, profile page, control-group toggle."""

from __future__ import annotations

import pytest

from messaging.models import Profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_list_search_and_profile_page(logged_in_page, api):
    api.post("/users/track", {
        "attributes": [
            {"external_id": "ana-1", "first_name": "Ana", "email": "ana@example.test",
             "tier": "gold", "push_tokens": [{"app_id": "ios", "token": "tok-1"}]},
            {"external_id": "bob-2", "first_name": "Bob", "phone": "+15550100"},
        ],
        "events": [{"external_id": "ana-1", "name": "viewed_item", "time": "2024-05-01"}],
        "purchases": [{"external_id": "ana-1", "product_id": "sku-7", "currency": "EUR",
                       "price": 12, "time": "2024-05-02"}],
    })
    page = logged_in_page
    page.get_by_role("link", name="Audience").first.click()
    page.wait_for_url("**/audience/profiles/")
    assert page.get_by_role("link", name="ana-1").is_visible()
    assert page.get_by_role("link", name="bob-2").is_visible()
    page.screenshot(path="/tmp/h2-audience-list.png", full_page=True)

    # Typing searches as you go (htmx) and keeps the URL in step.
    page.get_by_label("Search").fill("+1555")
    page.wait_for_url("**q=%2B1555**")
    assert page.get_by_role("link", name="ana-1").count() == 0
    page.get_by_role("link", name="bob-2").wait_for()

    page.get_by_label("Search").fill("ana@")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="ana-1").click()
    profile = Profile.objects.get(external_id="ana-1")
    page.wait_for_url(f"**/audience/profiles/{profile.braze_id}/")
    text = page.locator("main").inner_text()
    for expected in ("Ana", "ana@example.test", "viewed_item", "sku-7", "tok-1", '"tier": "gold"'):
        assert expected in text, expected

    page.get_by_role("button", name="Add to control group").click()
    page.get_by_role("button", name="Remove from control group").wait_for()
    assert page.get_by_test_id("control-state").inner_text() == "in"
    profile.refresh_from_db()
    assert profile.in_global_control_group is True
    page.screenshot(path="/tmp/h2-profile.png", full_page=True)
