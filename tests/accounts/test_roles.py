"""Roles: each persona tries, by direct POST, what the security review did as anyone.

A role-less account, a Viewer, a Marketer and a Developer each mint an API key, save
provider credentials, create a campaign and archive one. Only what the role allows
happens, and the rows prove it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import ROLES
from campaigns.models import Campaign
from campaigns.services import MessageSpec, campaign_create
from messaging.models import ApiKey, ChannelConfig, Profile
from messaging.services.providers import app_create
from tests.campaigns.conftest import editor_post

pytestmark = pytest.mark.django_db

ALLOWED = {
    "": set(),
    "Viewer": set(),
    "Marketer": {"create campaign", "archive campaign"},
    "Developer": {"mint key", "save credentials"},
    "Admin": {"mint key", "save credentials", "create campaign", "archive campaign"},
}


@pytest.fixture
def target(db):
    campaign = campaign_create(
        name="Existing", messages=[MessageSpec(channel="email", name="Variant 1")], by=None
    )
    app = app_create(name="Phones", platform="android")
    return campaign, app


def _attempts(client, campaign, app):
    return {
        "mint key": client.post(
            reverse("messaging:api-key-list"),
            {"name": "stolen", "permissions": ["messages.send", "users.track"]},
        ),
        "save credentials": client.post(
            reverse("messaging:channel-edit", args=[app.app_id, "sms"]),
            {"provider": "twilio", "account_sid": "AC1", "auth_token": "secret-token-99",
             "senders": "group-1 = +15550001111"},
        ),
        "create campaign": client.post(
            "/messaging/campaigns/new/api/", editor_post("Made by POST", messages=[("email", "A")])
        ),
        "archive campaign": client.post(reverse("campaigns:archive", args=[campaign.api_id])),
    }


def _happened(campaign) -> set[str]:
    campaign.refresh_from_db()
    done = set()
    if ApiKey.objects.filter(name="stolen").exists():
        done.add("mint key")
    if ChannelConfig.objects.filter(channel="sms").exists():
        done.add("save credentials")
    if Campaign.objects.filter(name="Made by POST").exists():
        done.add("create campaign")
    if campaign.status == Campaign.Status.ARCHIVED:
        done.add("archive campaign")
    return done


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_can_do_exactly_what_it_is_allowed(client, make_user, target, role):
    user = make_user(f"user-{role or 'none'}", role=role or None)
    client.force_login(user)
    responses = _attempts(client, *target)
    assert _happened(target[0]) == ALLOWED[role]
    for action, response in responses.items():
        if action not in ALLOWED[role]:
            assert response.status_code == 403, action
    if "mint key" in ALLOWED[role]:
        assert ApiKey.objects.get(name="stolen").created_by == user


@pytest.mark.parametrize("role", ["", "Viewer", "Marketer", "Developer"])
def test_refused_pages_say_why(client, make_user, target, role):
    client.force_login(make_user("someone", role=role or None))
    campaign, _ = target
    if role == "Developer":
        response = client.post(reverse("campaigns:archive", args=[campaign.api_id]))
    else:
        response = client.post(reverse("messaging:api-key-list"), {"name": "x"})
    assert response.status_code == 403
    body = response.content.decode()
    if role:
        assert "Your role does not allow this" in body
    else:
        assert "You have no role yet" in body and "Ask an admin for a role" in body


def test_an_account_without_a_role_sees_only_the_ask_an_admin_page(client, make_user, target):
    client.force_login(make_user("newcomer"))
    for url in ["/", reverse("campaigns:list"), reverse("messaging:settings"),
                reverse("messaging:profile-list"), reverse("analytics:segment-list"),
                reverse("messaging:api-reference")]:
        response = client.get(url, follow=True)
        assert response.status_code == 403, url
        assert "You have no role yet" in response.content.decode()
        assert "Existing" not in response.content.decode()


def test_a_viewer_reads_but_sees_no_buttons_for_changes(client, make_user, target):
    campaign, _ = target
    client.force_login(make_user("reader", role="Viewer"))
    listing = client.get(reverse("campaigns:list")).content.decode()
    assert "Existing" in listing and "Create campaign" not in listing
    page = client.get(campaign.get_absolute_url()).content.decode()
    for button in ("Archive", "Duplicate", ">Edit<"):
        assert button not in page
    settings_page = client.get(reverse("messaging:settings")).content.decode()
    assert reverse("messaging:api-key-list") not in settings_page
    assert reverse("accounts:team") not in settings_page
    assert client.get(reverse("messaging:api-key-list")).status_code == 403


def test_htmx_endpoints_check_permissions_too(client, make_user, target):
    profile = Profile.objects.create(external_id="ada")
    client.force_login(make_user("reader", role="Viewer"))
    response = client.post(
        reverse("messaging:profile-control-group", args=[profile.braze_id]),
        {"in_control": "1"}, headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    profile.refresh_from_db()
    assert profile.in_global_control_group is False
    page = client.get(reverse("messaging:profile-detail", args=[profile.braze_id])).content
    assert b"Add to control group" not in page


def test_the_roles_are_groups_with_model_permissions_for_django_admin(make_user):
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    marketer = make_user("m", role="Marketer")
    assert marketer.has_perm("campaigns.change_campaign")
    assert not marketer.has_perm("messaging.add_apikey")
    assert not marketer.is_staff
    admin = make_user("a", role="Admin")
    assert admin.has_perm("auth.change_user") and admin.has_perm("messaging.change_channelconfig")


def test_only_admins_reach_the_django_admin(client, make_user):
    client.force_login(make_user("dev", role="Developer"))
    assert client.get("/admin/").status_code == 302  # to the admin's login: not staff
    client.force_login(make_user("boss", role="Admin"))
    assert client.get("/admin/").status_code == 200
