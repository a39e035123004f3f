"""A marketer opens the Overview page after users were tracked through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_overview_page_draws_the_tracked_activity(logged_in_page, api):
    now = timezone.now()
    events = [{"external_id": f"u{i}", "name": name, "time": (now - timedelta(days=d)).isoformat()}
              for i, (name, d) in enumerate([("viewed_item", 0), ("viewed_item", 1),
                                             ("viewed_item", 2), ("added_to_cart", 1),
                                             ("checkout", 0)])]
    response = api.post("/users/track", {
        "events": events,
        "purchases": [{"external_id": "u4", "product_id": "shoe", "currency": "USD",
                       "price": 40, "time": now.isoformat()}],
        "attributes": [{"external_id": f"u{i}",
                        "date_of_last_session": (now - timedelta(days=i)).isoformat()}
                       for i in range(4)],
    })
    assert response.status_code == 201, response.content
    page = logged_in_page
    page.goto("/")
    page.get_by_role("link", name="Overview", exact=True).click()
    page.wait_for_url("**/analytics/overview/")
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.locator("#stat-revenue").inner_text() == "40.00"
    assert page.locator("#stat-mau").inner_text() == "5"
    for chart in ("#sessions-heading", "#users-heading", "#revenue-heading"):
        assert page.locator(chart).is_visible()
    assert page.locator("svg.chart polyline.series").count() == 4  # sessions, DAU, MAU, revenue
    assert page.locator("#top-events tbody tr").first.inner_text().startswith("viewed_item")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    page.get_by_role("link", name="7 days").click()
    page.wait_for_url("**/analytics/overview/?days=7")
    assert page.locator("#stat-sessions").inner_text() == "4"
