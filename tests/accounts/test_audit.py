"""The audit log: each security-relevant action leaves exactly one entry, never a secret."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEntry
from campaigns.models import Campaign
from campaigns.services import MessageSpec, campaign_create
from messaging.models import ApiKey
from messaging.services.api_keys import api_key_create
from messaging.services.providers import app_create
from tests.campaigns.conftest import editor_post

pytestmark = pytest.mark.django_db

SECRET = "secret-token-99"


@pytest.fixture
def admin_in(client, make_user):
    admin = make_user("boss", role="Admin")
    client.force_login(admin)
    return client, admin


def _campaign():
    return campaign_create(
        name="Spring", messages=[MessageSpec(channel="email", name="Variant 1")], by=None
    )


def _mint(client):
    response = client.post(reverse("messaging:api-key-list"),
                           {"name": "shop", "permissions": ["users.track"]})
    return response.context["new_key"]


def _revoke(client):
    api_key, _ = api_key_create(name="old", permissions=["users.track"])
    client.post(reverse("messaging:api-key-revoke", args=[api_key.prefix]))


def _credentials(client):
    app = app_create(name="Phones", platform="android")
    client.post(
        reverse("messaging:channel-edit", args=[app.app_id, "sms"]),
        {"provider": "twilio", "account_sid": "AC1", "auth_token": SECRET,
         "senders": "group-1 = +15550001111"},
    )


def _role(client, make_user):
    make_user("newcomer")
    client.post(reverse("accounts:team"), {"username": "newcomer", "role": "Marketer"})


def _create(client):
    client.post("/messaging/campaigns/new/api/", editor_post("Made", messages=[("email", "A")]))


def _edit(client):
    campaign = _campaign()
    client.post(reverse("campaigns:edit", args=[campaign.api_id]),
                editor_post("Renamed", messages=[("email", "Variant 1")]))


def _archive(client):
    client.post(reverse("campaigns:archive", args=[_campaign().api_id]))


def _login(client, make_user):
    make_user("ada")
    Client().post(reverse("login"), {"username": "ada", "password": "correct horse battery"})


def _failed_login(client, make_user):
    make_user("ada")
    Client().post(reverse("login"), {"username": "ada", "password": "wrong"})


ACTIONS = {
    "api_key.created": _mint,
    "api_key.revoked": _revoke,
    "provider_credentials.saved": _credentials,
    "role.changed": _role,
    "campaign.created": _create,
    "campaign.edited": _edit,
    "campaign.archived": _archive,
    "login.succeeded": _login,
    "login.failed": _failed_login,
}


@pytest.mark.parametrize("action", ACTIONS)
def test_each_audited_action_leaves_one_entry_with_who_and_where(
    admin_in, make_user, action, client
):
    before = AuditEntry.objects.filter(action=action).count()
    perform = ACTIONS[action]
    result = perform(client, make_user) if action in {
        "role.changed", "login.succeeded", "login.failed"
    } else perform(client)
    entries = AuditEntry.objects.filter(action=action)
    assert entries.count() == before + 1
    entry = entries.latest("id")
    assert entry.ip == "127.0.0.1" and entry.at is not None
    if action.startswith("login."):
        assert entry.actor_name == "ada"
    else:
        assert entry.actor.username == "boss"
    recorded = json.dumps([entry.changes, entry.target_label, entry.target_id])
    assert SECRET not in recorded
    if isinstance(result, str):  # the full API key, shown once
        assert result not in recorded and result[12:] not in recorded


def test_what_changed_is_recorded(admin_in):
    client, _ = admin_in
    _edit(client)
    entry = AuditEntry.objects.get(action="campaign.edited")
    assert entry.changes["name"] == ["Spring", "Renamed"]
    _credentials(client)
    saved = AuditEntry.objects.get(action="provider_credentials.saved")
    assert saved.changes["provider"] == "twilio"
    assert saved.changes["secrets_entered"] == ["auth_token"]
    _mint(client)
    created = AuditEntry.objects.get(action="api_key.created")
    assert created.changes["permissions"] == ["users.track"]
    assert created.target_id == ApiKey.objects.get(name="shop").prefix


def test_the_audit_log_page_filters_pages_and_exports(admin_in, make_user):
    client, admin = admin_in
    for index in range(55):
        campaign_create(name=f"C{index}", by=admin)
    _archive(client)
    url = reverse("accounts:audit-log")
    first = client.get(url).content.decode()
    assert "Page 1 of 2" in first and "campaign.archived" in first
    only = client.get(url, {"action": "campaign.archived"}).content.decode()
    assert only.count('data-action="campaign.archived"') == 1
    assert 'data-action="campaign.created"' not in only
    response = client.get(
        reverse("accounts:audit-log-csv"), {"action": "campaign.created", "actor": "boss"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["at", "account", "ip", "action"]
    assert len(rows) == 1 + 55 and {row[3] for row in rows[1:]} == {"campaign.created"}


def test_a_csv_cell_cannot_become_a_spreadsheet_formula(admin_in):
    client, admin = admin_in
    campaign_create(name="=HYPERLINK(1)", by=admin)
    body = b"".join(client.get(reverse("accounts:audit-log-csv")).streaming_content).decode()
    assert "'=HYPERLINK(1)" in body


@pytest.mark.parametrize("role", ["Developer", "Marketer", "Viewer"])
def test_only_admins_see_the_audit_log_and_the_team(client, make_user, role):
    client.force_login(make_user("someone", role=role))
    for name in ("accounts:audit-log", "accounts:audit-log-csv", "accounts:team"):
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("accounts:team"), {"username": "someone", "role": "Admin"}
                       ).status_code == 403
    assert not Campaign.objects.exists()


def test_the_team_page_assigns_roles_and_staff(admin_in, make_user):
    client, _ = admin_in
    newcomer = make_user("newcomer")
    page = client.get(reverse("accounts:team")).content.decode()
    assert 'data-username="newcomer"' in page
    client.post(reverse("accounts:team"), {"username": "newcomer", "role": "Admin"})
    newcomer.refresh_from_db()
    assert newcomer.is_staff and list(newcomer.groups.values_list("name", flat=True)) == ["Admin"]
    client.post(reverse("accounts:team"), {"username": "newcomer", "role": "Viewer"})
    newcomer.refresh_from_db()
    assert not newcomer.is_staff
    assert list(newcomer.groups.values_list("name", flat=True)) == ["Viewer"]
    entry = AuditEntry.objects.filter(action="role.changed").latest("id")
    assert entry.changes == {"role": ["Admin", "Viewer"]}


def test_the_last_admin_cannot_demote_themselves(admin_in):
    client, admin = admin_in
    response = client.post(reverse("accounts:team"), {"username": "boss", "role": "Viewer"},
                           follow=True)
    assert "last Admin" in response.content.decode()
    assert list(admin.groups.values_list("name", flat=True)) == ["Admin"]
