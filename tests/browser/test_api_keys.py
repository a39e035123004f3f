"""Settings → API keys in a real browser: create (key shown once), use it, revoke it."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from messaging.models import ApiKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_show_once_use_and_revoke(developer_page, live_server):
    page = developer_page
    page.get_by_role("link", name="Settings").first.click()
    page.get_by_role("link", name="API keys").click()
    page.wait_for_url("**/settings/api-keys/")
    page.get_by_label("Name", exact=True).fill("Shop backend")
    page.get_by_label("users.track").check()
    page.get_by_label("users.export.ids").check()
    page.get_by_label("messages.send").uncheck()
    page.get_by_role("button", name="Create key").click()

    key = page.get_by_test_id("new-key").inner_text().strip()
    assert key.startswith("hrld_")
    page.screenshot(path="/tmp/h2-api-key-created.png", full_page=True)
    api_key = ApiKey.objects.get(name="Shop backend")
    assert sorted(api_key.permissions) == ["users.export.ids", "users.track"]

    # The key works against the running server…
    headers = {"Authorization": f"Bearer {key}"}
    response = httpx.post(f"{live_server.url}/users/track", headers=headers,
                          json={"attributes": [{"external_id": "browser-user"}]})
    assert response.status_code == 201

    # …and is never shown again.
    page.goto("/settings/api-keys/")
    assert key not in page.content()
    row = page.locator(f'tr[data-key="{api_key.prefix}"]')
    # Last used: relative ("now", "2 seconds ago"), the absolute time in the hover title.
    last_used = row.locator("time").nth(1)
    assert re.fullmatch(r"just now|.+ ago", last_used.inner_text())
    hover = last_used.get_attribute("title")
    assert re.fullmatch(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d UTC", hover)

    row.get_by_text("Revoke…").click()
    row.get_by_role("button", name="Revoke “Shop backend”").click()
    page.wait_for_url("**/settings/api-keys/")
    assert "revoked" in page.locator(f'tr[data-key="{api_key.prefix}"]').inner_text()
    page.screenshot(path="/tmp/h2-api-key-revoked.png", full_page=True)
    response = httpx.post(f"{live_server.url}/users/track", headers=headers,
                          content=json.dumps({"attributes": [{"external_id": "x"}]}))
    assert response.status_code == 401


def test_invalid_allowlist_is_explained(developer_page):
    page = developer_page
    page.goto("/settings/api-keys/")
    page.get_by_label("Name", exact=True).fill("Bad net")
    page.get_by_label("IP allowlist").fill("10.0.0.300/8")
    page.get_by_role("button", name="Create key").click()
    assert page.get_by_text("is not an IP address or network").is_visible()
    page.screenshot(path="/tmp/h2-api-key-errors.png", full_page=True)
    assert not ApiKey.objects.exists()


def test_api_reference_page(developer_page):
    page = developer_page
    page.goto("/settings/")
    page.screenshot(path="/tmp/h2-settings.png", full_page=True)
    page.get_by_role("link", name="API reference").click()
    page.get_by_role("link", name="POST /users/track").click()
    assert page.locator("#post-users-track").is_visible()
    page.screenshot(path="/tmp/h2-api-reference.png", full_page=False)
