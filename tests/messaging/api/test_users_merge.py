"""/users/merge and /users/alias/update (Braze's user data endpoints)."""

from __future__ import annotations

import pytest

from analytics.models import CustomEvent
from messaging.models import Profile, UserAlias

pytestmark = pytest.mark.django_db


def test_merge_folds_the_merged_user_into_the_kept_one(api):
    old = Profile.objects.create(external_id="old", first_name="Ann", country="FR",
                                 custom_attributes={"tier": "gold", "shared": "old"})
    keep = Profile.objects.create(external_id="keep", custom_attributes={"shared": "keep"})
    CustomEvent.objects.create(profile=old, name="signup", time=old.created_at)
    UserAlias.objects.create(profile=old, alias_label="crm", alias_name="c-1")
    response = api.post("/users/merge", {"merge_updates": [
        {"identifier_to_merge": {"external_id": "old"},
         "identifier_to_keep": {"external_id": "keep"}}]})
    assert response.status_code == 202, response.content
    assert response.json() == {"message": "success"}
    assert not Profile.objects.filter(external_id="old").exists()
    keep.refresh_from_db()
    assert (keep.first_name, keep.country) == ("Ann", "FR")
    # The kept user's own values win; what it lacked comes from the merged one.
    assert keep.custom_attributes == {"tier": "gold", "shared": "keep"}
    assert CustomEvent.objects.get().profile == keep
    assert UserAlias.objects.get().profile == keep


def test_merge_by_alias_and_by_email_with_prioritization(api):
    lead = Profile.objects.create()
    UserAlias.objects.create(profile=lead, alias_label="crm", alias_name="lead-9")
    keep = Profile.objects.create(external_id="k")
    Profile.objects.create(email="dup@example.test", last_name="Older")
    newest = Profile.objects.create(email="dup@example.test", last_name="Newer")
    response = api.post("/users/merge", {"merge_updates": [
        {"identifier_to_merge": {"user_alias": {"alias_label": "crm", "alias_name": "lead-9"}},
         "identifier_to_keep": {"external_id": "k"}},
        {"identifier_to_merge": {"email": "DUP@example.test",
                                 "prioritization": ["most_recently_updated"]},
         "identifier_to_keep": {"external_id": "k"}},
    ]})
    assert response.status_code == 202
    assert not Profile.objects.filter(pk__in=[lead.pk, newest.pk]).exists()
    keep.refresh_from_db()
    assert keep.last_name == "Newer" and keep.aliases.get().alias_name == "lead-9"
    assert Profile.objects.filter(last_name="Older").exists()


def test_merge_naming_nobody_or_one_user_twice_changes_nothing(api):
    Profile.objects.create(external_id="a")
    response = api.post("/users/merge", {"merge_updates": [
        {"identifier_to_merge": {"external_id": "ghost"},
         "identifier_to_keep": {"external_id": "a"}},
        {"identifier_to_merge": {"external_id": "a"}, "identifier_to_keep": {"external_id": "a"}},
    ]})
    assert response.status_code == 202
    assert Profile.objects.filter(external_id="a").count() == 1


@pytest.mark.parametrize("body, text", [
    ({}, "merge_updates: Field required"),
    ({"merge_updates": []}, "merge_updates"),
    ({"merge_updates": [{"identifier_to_merge": {"external_id": "a"}}]},
     "merge_updates[0].identifier_to_keep: Field required"),
    ({"merge_updates": [{"identifier_to_merge": {"external_id": "a", "email": "a@b.co"},
                         "identifier_to_keep": {"external_id": "b"}}]},
     "give exactly one of external_id, user_alias, email or phone"),
    ({"merge_updates": [{"identifier_to_merge": {"email": "a@b.co"},
                         "identifier_to_keep": {"external_id": "b"}}]},
     "prioritization is required with email or phone"),
    ({"merge_updates": [{"identifier_to_merge": {"external_id": str(i)},
                         "identifier_to_keep": {"external_id": "k"}} for i in range(51)]},
     "The max number of ids per request was exceeded"),
])
def test_merge_invalid_bodies_are_refused_whole(api, body, text):
    Profile.objects.create(external_id="a")
    Profile.objects.create(external_id="b")
    response = api.post("/users/merge", body)
    assert response.status_code == 400
    assert text in response.json()["message"] + " ".join(response.json().get("errors", []))
    assert Profile.objects.count() == 2


def test_merge_needs_its_permission(api, make_api_key):
    _, key = make_api_key(permissions=["users.track"])
    response = api.post("/users/merge", {"merge_updates": []}, key=key)
    assert response.status_code == 403
    assert response.json()["message"] == "Access Denied"


# --- /users/alias/update ---------------------------------------------------------------------


def test_alias_update_renames_under_the_label(api):
    profile = Profile.objects.create(external_id="u")
    UserAlias.objects.create(profile=profile, alias_label="crm", alias_name="old")
    UserAlias.objects.create(profile=Profile.objects.create(), alias_label="crm",
                             alias_name="taken")
    response = api.post("/users/alias/update", {"alias_updates": [
        {"alias_label": "crm", "old_alias_name": "old", "new_alias_name": "new"},
        {"alias_label": "crm", "old_alias_name": "missing", "new_alias_name": "x"},
    ]})
    assert response.status_code == 201 and response.json() == {"message": "success"}
    assert profile.aliases.get().alias_name == "new"
    assert not UserAlias.objects.filter(alias_name="x").exists()
    # A new name another user already has under that label is left alone.
    api.post("/users/alias/update", {"alias_updates": [
        {"alias_label": "crm", "old_alias_name": "new", "new_alias_name": "taken"}]})
    assert profile.aliases.get().alias_name == "new"


@pytest.mark.parametrize("body", [
    {}, {"alias_updates": []},
    {"alias_updates": [{"alias_label": "crm", "old_alias_name": "a"}]},
    {"alias_updates": [{"alias_label": "crm", "old_alias_name": "a", "new_alias_name": ""}]},
])
def test_alias_update_invalid(api, body):
    assert api.post("/users/alias/update", body).status_code == 400
