"""Phone numbers: layout is removed before storing and matching; no country code is guessed."""

from __future__ import annotations

import pytest

from messaging.models import Profile

pytestmark = pytest.mark.django_db


def track(api, *attributes):
    response = api.post("/users/track", {"attributes": list(attributes)})
    assert response.status_code == 201, response.content
    return response


def export_by_phone(api, phone: str) -> list[dict]:
    response = api.post("/users/export/ids", {"phone": phone})
    assert response.status_code == 201, response.content
    return response.json()["users"]


def test_spaced_and_compact_e164_are_one_profile(api):
    track(api, {"phone": "+33 6 12 34 56 78", "first_name": "Zoé"})
    track(api, {"phone": "+33612345678", "last_name": "Martin"})
    profile = Profile.objects.get()
    assert profile.phone == "+33612345678"
    assert (profile.first_name, profile.last_name) == ("Zoé", "Martin")
    for asked in ("+33612345678", "+33 (6) 12-34-56-78", "+33.6.12.34.56.78",
                  "\u00a0+33\u00a06\u00a012 34 56 78 "):
        users = export_by_phone(api, asked)
        assert [(u["phone"], u["first_name"], u["last_name"]) for u in users] == [
            ("+33612345678", "Zoé", "Martin")], asked


def test_phone_attribute_of_identified_profile_is_normalised(api):
    track(api, {"external_id": "ana", "phone": "+1 (555) 010-0123"})
    assert Profile.objects.get(external_id="ana").phone == "+15550100123"
    assert [u["external_id"] for u in export_by_phone(api, "+1 555 010 0123")] == ["ana"]


def test_no_country_code_is_invented(api):
    track(api, {"phone": "+33 6 12 34 56 78", "first_name": "International"},
          {"phone": "06 12 34 56 78", "first_name": "National"})
    assert sorted(Profile.objects.values_list("phone", flat=True)) == [
        "+33612345678", "0612345678"]
    assert [u["first_name"] for u in export_by_phone(api, "06.12.34.56.78")] == ["National"]
    assert [u["first_name"] for u in export_by_phone(api, "+33612345678")] == ["International"]
    # Digits and other characters are kept as given: nothing is dropped but layout.
    track(api, {"external_id": "odd", "phone": "0033 6 12 34 56 78"})
    assert Profile.objects.get(external_id="odd").phone == "0033612345678"


def test_unknown_phone_is_reported_normalised(api):
    response = api.post("/users/export/ids", {"phone": "+44 20 7946 0000"})
    body = response.json()
    assert body["users"] == [] and body["invalid_user_ids"] == ["+442079460000"]


@pytest.mark.parametrize("path, body", [
    ("/users/export/ids", {"phone": "( - )"}),
    ("/users/delete", {"phone_numbers": [" . "]}),
    ("/users/delete", {"phone_numbers": [" "]}),
    ("/users/identify", {"phone_numbers_to_identify": [
        {"external_id": "thief", "phone": " ", "prioritization": ["unidentified"]}]}),
])
def test_phone_of_layout_only_is_refused_not_matched_to_phoneless_profiles(api, path, body):
    # "" would match every profile without a phone (and /users/delete would delete one).
    Profile.objects.create(external_id="no-phone")
    response = api.post(path, body)
    assert response.status_code == 400
    assert "not a phone number" in str(response.json())
    assert Profile.objects.filter(external_id="no-phone").exists()
    assert not Profile.objects.filter(external_id="thief").exists()


def test_identify_and_delete_match_formatted_phones(api):
    track(api, {"phone": "+49 30 1234567", "first_name": "Phone only"})
    response = api.post("/users/identify", {"phone_numbers_to_identify": [
        {"external_id": "kai", "phone": "+49-30-1234567", "prioritization": ["unidentified"]}]})
    assert response.status_code == 201, response.content
    assert Profile.objects.get(phone="+49301234567").external_id == "kai"
    response = api.post("/users/delete", {"phone_numbers": ["+49 (30) 1234567"]})
    assert response.status_code == 201, response.content
    assert response.json()["deleted"] == 1
    assert not Profile.objects.exists()
