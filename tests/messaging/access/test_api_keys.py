"""API keys: the service, the dashboard pages, the management command, the admin."""

from __future__ import annotations

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from messaging.models import ApiKey, Permission
from messaging.services.api_keys import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def test_create_stores_only_prefix_and_digest():
    api_key, key = api_key_create(name="shop", permissions=["users.track"],
                                  allowed_networks=["10.0.0.7", " 192.168.1.9/24 "])
    assert key.startswith("hrld_") and len(key) > 40
    stored = ApiKey.objects.get()
    assert key not in {stored.prefix, stored.digest} and key.startswith(stored.prefix)
    assert stored.matches(key) and not stored.matches(key + "x")
    # Networks are canonical (host bits cleared), single addresses become /32.
    assert stored.allowed_networks == ["10.0.0.7/32", "192.168.1.0/24"]


@pytest.mark.parametrize("kwargs, message", [
    ({"permissions": ["users.track", "launch.rockets"]}, "unknown permission"),
    ({"permissions": []}, "at least one permission"),
    ({"permissions": ["users.track"], "allowed_networks": ["10.0.0.0/33"]}, "not an IP"),
    ({"permissions": ["users.track"], "name": ""}, "name"),
])
def test_create_refuses_bad_input(kwargs, message):
    with pytest.raises(ValidationError) as exc:
        api_key_create(**{"name": "k", **kwargs})
    assert message in str(exc.value)
    assert not ApiKey.objects.exists()


def test_revoked_key_is_refused(api_key, client):
    api_key_revoke(api_key=api_key[0])
    response = client.post("/users/track", {}, content_type="application/json",
                           headers={"Authorization": f"Bearer {api_key[1]}"})
    assert response.status_code == 401
    assert response.json()["message"] == f"Invalid API key: {api_key[0].prefix}…"


# --- management command ------------------------------------------------------------------


def test_command_prints_key_alone_on_last_line_with_all_permissions(client):
    out = io.StringIO()
    call_command("create_api_key", "backend", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    api_key = ApiKey.objects.get(name="backend")
    assert api_key.matches(key)
    assert sorted(api_key.permissions) == sorted(Permission.values)
    response = client.post("/users/track", {"attributes": [{"external_id": "cli"}]},
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201


def test_command_with_permissions_and_allowlist():
    out = io.StringIO()
    call_command("create_api_key", "ro", "--permission", "users.export.ids",
                 "--permission", "campaigns.list", "--allow", "10.1.0.0/16", stdout=out)
    api_key = ApiKey.objects.get(name="ro")
    assert api_key.permissions == ["users.export.ids", "campaigns.list"]
    assert api_key.allowed_networks == ["10.1.0.0/16"]
    assert api_key.matches(out.getvalue().splitlines()[-1])


def test_command_refuses_unknown_permission():
    with pytest.raises(CommandError, match="unknown permission users.trak"):
        call_command("create_api_key", "x", "--permission", "users.trak", stdout=io.StringIO())
    assert not ApiKey.objects.exists()


def test_command_refuses_bad_network():
    with pytest.raises(CommandError, match="not an IP"):
        call_command("create_api_key", "x", "--allow", "nope", stdout=io.StringIO())


# --- dashboard -------------------------------------------------------------------------------


def test_pages_need_login(client):
    for name in ("messaging:settings", "messaging:api-key-list", "messaging:api-reference"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]
    response = client.post(reverse("messaging:api-key-list"), {"name": "x",
                                                              "permissions": ["users.track"]})
    assert response.status_code == 302 and not ApiKey.objects.exists()


def test_settings_index_links_everything(developer_client):
    html = developer_client.get(reverse("messaging:settings")).content.decode()
    for name in ("messaging:api-key-list", "messaging:api-reference", "messaging:app-list",
                 "messaging:channel-list"):
        assert f'href="{reverse(name)}"' in html


def test_create_in_dashboard_shows_key_once(developer_client, developer):
    response = developer_client.post(reverse("messaging:api-key-list"), {
        "name": "web shop", "permissions": ["users.track", "messages.send"],
        "allowed_networks": "203.0.113.0/24\n2001:db8::/32",
    })
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = response.context["new_key"]
    assert key in response.content.decode()
    api_key = ApiKey.objects.get()
    assert api_key.matches(key) and api_key.created_by == developer
    assert api_key.allowed_networks == ["203.0.113.0/24", "2001:db8::/32"]
    # The list page never shows it again.
    again = developer_client.get(reverse("messaging:api-key-list")).content.decode()
    assert key not in again and api_key.prefix in again and "web shop" in again


def test_create_with_errors_rerenders_form(developer_client):
    response = developer_client.post(reverse("messaging:api-key-list"), {
        "name": "", "permissions": [], "allowed_networks": "999.1.1.1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "not an IP address" in html and "This field is required" in html
    assert 'aria-invalid="true"' in html
    assert not ApiKey.objects.exists()


def test_revoke_in_dashboard(developer_client, api_key):
    response = developer_client.post(
        reverse("messaging:api-key-revoke", args=[api_key[0].prefix]))
    assert response.status_code == 302
    api_key[0].refresh_from_db()
    assert api_key[0].is_revoked
    html = developer_client.get(reverse("messaging:api-key-list")).content.decode()
    assert "revoked" in html


def test_revoke_unknown_key_is_404_and_get_is_refused(developer_client, api_key):
    assert developer_client.post(
        reverse("messaging:api-key-revoke", args=["hrld_nothere"])).status_code == 404
    assert developer_client.get(
        reverse("messaging:api-key-revoke", args=[api_key[0].prefix])).status_code == 405
    api_key[0].refresh_from_db()
    assert not api_key[0].is_revoked


def test_last_used_is_shown(developer_client, api):
    api.post("/users/track", {"attributes": [{"external_id": "u"}]})
    html = developer_client.get(reverse("messaging:api-key-list")).content.decode()
    # Relative text ("now", "3 seconds ago"), the absolute time on hover.
    shown = r'<time datetime="[^"]+" title="\d{1,2} \w{3} \d{4}, [\d:]+ UTC">(just now|[^<]* ago)<'
    assert re.search(shown, html)
    assert "never" not in html


def test_admin_lists_every_messaging_model(admin_client):
    from django.apps import apps

    for model in apps.get_app_config("messaging").get_models():
        url = reverse(f"admin:messaging_{model._meta.model_name}_changelist")
        assert admin_client.get(url).status_code == 200, model


def test_admin_never_shows_digest(admin_client, api_key):
    url = reverse("admin:messaging_apikey_change", args=[api_key[0].pk])
    html = admin_client.get(url).content.decode()
    assert api_key[0].prefix in html and api_key[0].digest not in html


def test_key_survives_a_secret_key_change(settings):
    # Development processes each draw a random SECRET_KEY: a key made by
    # `manage.py create_api_key` must still work in the web process.
    api_key, key = api_key_create(name="k", permissions=["users.track"])
    settings.SECRET_KEY = "a-different-secret"
    assert ApiKey.objects.get(pk=api_key.pk).matches(key)


def test_key_list_query_count_is_flat(developer_client, developer, django_assert_max_num_queries):
    for i in range(12):
        api_key_create(name=f"k{i}", permissions=["users.track"], created_by=developer)
    with django_assert_max_num_queries(6):
        html = developer_client.get(reverse("messaging:api-key-list")).content.decode()
    assert html.count("by developer") == 12
