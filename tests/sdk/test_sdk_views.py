"""Settings › Apps › a web app › Try the SDK: who may see and change the SDK key."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEntry
from messaging.models import App, SdkKey
from messaging.services.providers import app_create

pytestmark = pytest.mark.django_db


def _url(app):
    return reverse("messaging:app-sdk", args=[app.app_id])


def test_a_developer_creates_the_key_sets_origins_and_rotates_it(developer_client, web_app):
    page = developer_client.get(_url(web_app))
    assert page.status_code == 200 and b"No SDK key yet" in page.content
    developer_client.post(_url(web_app), {"action": "create"})
    key = SdkKey.objects.get(app=web_app)
    saved = developer_client.post(_url(web_app), {
        "action": "origins", "origins": "https://Shop.example:443/\nhttp://localhost:8000"})
    assert saved.status_code == 302
    key.refresh_from_db()
    assert key.allowed_origins == ["https://shop.example", "http://localhost:8000"]
    old = key.key
    developer_client.post(_url(web_app), {"action": "rotate"})
    key.refresh_from_db()
    assert key.key != old and key.key.startswith("hrld_pub_")
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"sdk_key.created", "sdk_key.origins_changed", "sdk_key.rotated"} <= actions


def test_a_bad_origin_is_shown_and_nothing_saved(developer_client, sdk_key, web_app):
    page = developer_client.post(_url(web_app), {"action": "origins",
                                                 "origins": "shop.example/path"})
    assert page.status_code == 200
    assert b"is not an origin such as https://shop.example" in page.content
    sdk_key.refresh_from_db()
    assert sdk_key.allowed_origins == ["https://shop.example"]


def test_a_developer_signs_a_test_token(developer_client, sdk_key, web_app):
    page = developer_client.post(_url(web_app), {"action": "token", "external_id": "ada"})
    assert page.status_code == 200
    assert page.context["token"].count(".") == 2
    assert AuditEntry.objects.filter(action="sdk_key.test_token_signed").exists()


def test_a_marketer_sees_the_key_but_may_not_change_it(marketer_client, sdk_key, web_app):
    page = marketer_client.get(_url(web_app))
    assert page.status_code == 200 and sdk_key.key.encode() in page.content
    assert b"Rotate the key" not in page.content
    assert marketer_client.post(_url(web_app), {"action": "rotate"}).status_code == 403
    assert marketer_client.post(_url(web_app), {"action": "token",
                                                "external_id": "ada"}).status_code == 403
    sdk_key.refresh_from_db()
    assert sdk_key.rotated_at is None


def test_anonymous_visitors_go_to_the_login(client, web_app):
    assert client.get(_url(web_app)).status_code == 302


def test_an_ios_app_has_no_sdk_page_content(developer_client):
    ios = app_create(name="Shop iOS", platform=App.Platform.IOS)
    page = developer_client.get(_url(ios))
    assert b"Only web apps use the web SDK" in page.content
    developer_client.post(_url(ios), {"action": "create"})
    assert not SdkKey.objects.exists()


def test_unknown_app_is_a_404(developer_client):
    assert developer_client.get("/settings/apps/not-a-uuid/sdk/").status_code == 404
