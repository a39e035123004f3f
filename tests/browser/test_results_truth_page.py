"""The results page with failures, skips, sandbox and multichannel conversions, on a
laptop and on a phone (issue 8)."""

from __future__ import annotations

import pytest

from tests.analytics.test_results_truth import truth_campaign
from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1366, 390])
def test_results_page_tells_the_truth_at_any_width(logged_in_page, width):
    campaign = truth_campaign()
    page = logged_in_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/messaging/campaigns/{campaign.api_id}/results/")
    table = page.locator("#results-table")
    for header in ("Bounces", "Failed", "Skipped", "Sandbox"):
        assert table.get_by_role("columnheader", name=header, exact=True).count() == 1
    bold = table.locator("tbody tr", has_text="Bold")
    assert bold.locator(".badge.sandbox").is_visible()
    assert bold.locator('[data-metric="sandboxed"]').inner_text() == "3"
    total = table.locator('tr[data-variation="total"]')
    assert total.locator('[data-metric="failed"]').inner_text() == "3"
    assert total.locator('[data-metric="skipped"]').inner_text() == "3"
    assert "1 profile" in total.locator('[data-metric="conversions"]').inner_text()
    assert page.locator("#sandbox-note").is_visible()
    assert page.locator("#crediting").is_visible()
    # The page itself never scrolls sideways: only the table does, inside its box.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"results-truth-{width}.png"), full_page=True)
    if width < 700:
        # The variant's name stays in view while the table scrolls.
        name = table.locator("tbody th", has_text="Plain")
        page.locator(".table-wrap").first.evaluate("el => el.scrollLeft = 400")
        box = name.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] < 60
        page.screenshot(path=str(ARTIFACTS / f"results-truth-{width}-scrolled.png"))
