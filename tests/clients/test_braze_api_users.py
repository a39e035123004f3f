"""npm braze-api's users.* methods parse Herald's answers, and Herald does what they ask."""

from __future__ import annotations

import pytest

from analytics.models import Segment, SegmentMember
from messaging.models import DeprecatedExternalId, Profile, UserAlias, UserExport
from tests.analytics.helpers import make_campaign, send

pytestmark = pytest.mark.django_db(transaction=True)


def test_users_methods(braze_node, api_key, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    ann = Profile.objects.create(external_id="ann", email="ann@example.test")
    old = Profile.objects.create(external_id="old-ann", first_name="Ann")
    UserAlias.objects.create(profile=old, alias_label="crm", alias_name="lead-1")
    Profile.objects.create(external_id="held", in_global_control_group=True)
    campaign = make_campaign("Welcome", variations=(("email", "A"), ("sms", "B")))
    for variation in campaign.variations.all():
        send(variation, ann)
    segment = Segment.objects.create(name="Ann only", size=1)
    SegmentMember.objects.create(segment=segment, profile=ann)

    answer = braze_node("users.mjs", api_key[1], HERALD_SEGMENT_ID=segment.segment_id)

    assert answer["merge"] == {"message": "success"}
    assert answer["alias_update"] == {"message": "success"}
    assert answer["rename"] == {"message": "success", "external_ids": ["ann"],
                                "rename_errors": []}
    (user,) = answer["export_by_old_id"]["users"]
    assert user["external_id"] == "ann-v2"
    assert user["user_aliases"] == [{"alias_name": "lead-one", "alias_label": "crm"}]
    # One campaigns_received entry per variation received.
    assert sorted(e["variation_name"] for e in user["campaigns_received"]) == ["A", "B"]
    assert all("multiple_converted" in e for e in user["campaigns_received"])
    assert answer["remove"]["removed_ids"] == ["ann"]
    assert answer["remove"]["removal_errors"] == [["ann-v2",
                                                   "ann-v2 is not a deprecated external ID"]]
    for name in ("export_segment", "export_gcg"):
        assert answer[name]["message"] == "success"
        assert "/exports/users/" in answer[name]["url"]
    assert answer["merge_invalid"]["status"] == 400
    assert answer["merge_invalid"]["errors"]

    assert not Profile.objects.filter(external_id="old-ann").exists()
    ann.refresh_from_db()
    assert (ann.external_id, ann.first_name) == ("ann-v2", "Ann")
    assert not DeprecatedExternalId.objects.exists()
    assert set(UserExport.objects.values_list("kind", "status", "users")) == {
        ("segment", "done", 1), ("global_control_group", "done", 1)}
