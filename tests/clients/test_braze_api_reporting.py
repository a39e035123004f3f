"""npm braze-api's segments.* and email.* methods parse Herald's answers; a Braze feature
Herald does not offer reaches the client as a 404 that says so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analytics.models import Segment
from messaging.models import EmailSuppression, Profile

pytestmark = pytest.mark.django_db(transaction=True)


def test_segments_and_email_methods(braze_node, api_key):
    Profile.objects.create(external_id="ann", email="ann@example.test")
    EmailSuppression.objects.create(email="ann@example.test", reason="spam",
                                    recorded_at=datetime(2026, 3, 1, tzinfo=UTC))
    segment = Segment.objects.create(name="Buyers", size=4)
    Segment.objects.filter(pk=segment.pk).update(created_at=datetime(2026, 3, 9, tzinfo=UTC))

    answer = braze_node("reporting.mjs", api_key[1], HERALD_SEGMENT_ID=segment.segment_id,
                        HERALD_ENDING_AT="2026-03-10")

    assert [s["id"] for s in answer["segments_list"]["segments"]] == [segment.segment_id]
    assert answer["segments_details"]["name"] == "Buyers"
    assert answer["segments_analytics"] == {"message": "success", "data": [
        {"time": "2026-03-08", "size": 0}, {"time": "2026-03-09", "size": 4},
        {"time": "2026-03-10", "size": 4}]}
    for name in ("blacklist", "bounce_remove", "spam_remove"):
        assert answer[name] == {"message": "success"}
    # Blacklisted then removed from the bounce list; ann's complaint removed too.
    assert not EmailSuppression.objects.exists()
    assert Profile.objects.get().email_subscribe == "subscribed"
    assert answer["canvas_list"]["status"] == 404
    assert answer["canvas_list"]["message"].startswith("Herald does not offer Braze's Canvas")
    assert answer["segments_analytics_unknown"] == {
        "status": 400, "message": "segment_id must be a string of the segment api identifier"}
