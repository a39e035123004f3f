"""/users/external_ids/rename and /remove: Braze's deprecated external IDs."""

from __future__ import annotations

import pytest

from messaging.models import DeprecatedExternalId, Profile

pytestmark = pytest.mark.django_db


def rename(api, *pairs):
    return api.post("/users/external_ids/rename", {"external_id_renames": [
        {"current_external_id": current, "new_external_id": new} for current, new in pairs]})


def test_rename_keeps_the_old_id_usable_until_removed(api):
    profile = Profile.objects.create(external_id="legacy-1", first_name="Ann")
    response = rename(api, ("legacy-1", "v2-1"))
    assert response.status_code == 201, response.content
    assert response.json() == {"message": "success", "external_ids": ["legacy-1"],
                               "rename_errors": []}
    profile.refresh_from_db()
    assert profile.external_id == "v2-1"
    # The deprecated ID still names the user: export, and track (which must not make a
    # second user with the old ID).
    users = api.post("/users/export/ids", {"external_ids": ["legacy-1"],
                                           "fields_to_export": ["external_id", "first_name"]})
    assert users.json()["users"] == [{"external_id": "v2-1", "first_name": "Ann"}]
    track = api.post("/users/track", {"attributes": [{"external_id": "legacy-1",
                                                      "last_name": "Lee"}]})
    assert track.status_code == 201
    assert Profile.objects.count() == 1
    profile.refresh_from_db()
    assert profile.last_name == "Lee"

    removed = api.post("/users/external_ids/remove", {"external_ids": ["legacy-1", "v2-1"]})
    assert removed.status_code == 201
    assert removed.json() == {"message": "success", "removed_ids": ["legacy-1"],
                              "removal_errors": [["v2-1", "v2-1 is not a deprecated external ID"]]}
    assert not DeprecatedExternalId.objects.exists()
    users = api.post("/users/export/ids", {"external_ids": ["legacy-1"]}).json()
    assert users["users"] == [] and users["invalid_user_ids"] == ["legacy-1"]


def test_rename_refuses_what_braze_refuses_and_does_the_rest(api):
    Profile.objects.create(external_id="a")
    Profile.objects.create(external_id="b")
    Profile.objects.create(external_id="c")
    rename(api, ("c", "c2"))  # "c" is now deprecated
    response = rename(api, ("a", "b"), ("a", "a"), ("c", "c3"), ("ghost", "g2"),
                      ("b", "c"), ("a", "a2"))
    assert response.status_code == 201
    answer = response.json()
    assert answer["external_ids"] == ["a"]
    assert [reason for _, reason in answer["rename_errors"]] == [
        "new_external_id is already used as a primary or deprecated external ID",
        "current_external_id and new_external_id are the same",
        "current_external_id is a deprecated external ID",
        "current_external_id names no user",
        "new_external_id is already used as a primary or deprecated external ID",
    ]
    assert set(Profile.objects.values_list("external_id", flat=True)) == {"a2", "b", "c2"}


def test_delete_by_a_deprecated_id_deletes_the_user(api):
    Profile.objects.create(external_id="old")
    rename(api, ("old", "new"))
    response = api.post("/users/delete", {"external_ids": ["old"]})
    assert response.status_code == 201
    assert not Profile.objects.exists() and not DeprecatedExternalId.objects.exists()


@pytest.mark.parametrize("path, body", [
    ("/users/external_ids/rename", {}),
    ("/users/external_ids/rename", {"external_id_renames": []}),
    ("/users/external_ids/rename", {"external_id_renames": [{"current_external_id": "a"}]}),
    ("/users/external_ids/rename", {"external_id_renames": [
        {"current_external_id": f"a{i}", "new_external_id": f"b{i}"} for i in range(51)]}),
    ("/users/external_ids/remove", {}),
    ("/users/external_ids/remove", {"external_ids": []}),
    ("/users/external_ids/remove", {"external_ids": [""]}),
    ("/users/external_ids/remove", {"external_ids": [f"x{i}" for i in range(51)]}),
])
def test_invalid_bodies(api, path, body):
    Profile.objects.create(external_id="a0")
    response = api.post(path, body)
    assert response.status_code == 400
    assert response.json()["message"]
    assert Profile.objects.get().external_id == "a0"
