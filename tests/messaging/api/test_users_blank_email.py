"""A blank email must never stand for "profiles without an email"."""

import pytest

from messaging.models import Profile

pytestmark = pytest.mark.django_db


def test_delete_by_blank_email_is_refused_and_deletes_nobody(api):
    Profile.objects.create(external_id="no-email")
    response = api.post("/users/delete", {
        "email_addresses": [{"email": "   ", "prioritization": ["most_recently_updated"]}]})
    assert response.status_code == 400
    assert Profile.objects.filter(external_id="no-email").exists()


def test_identify_by_blank_email_is_refused(api):
    Profile.objects.create(external_id="target")
    Profile.objects.create()  # an unidentified profile without an email
    response = api.post("/users/identify", {"emails_to_identify": [
        {"external_id": "target", "email": "   ", "prioritization": ["unidentified"]}]})
    assert response.status_code == 400
    assert Profile.objects.count() == 2


def test_export_by_blank_email_is_refused(api):
    Profile.objects.create(external_id="no-email")
    response = api.post("/users/export/ids", {"email_address": "   "})
    assert response.status_code == 400
