"""profile_merge_analytics: a profile folded into another keeps its analytics, counted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum

from analytics.models import (
    AppVersionSeen,
    CampaignDayRollup,
    CampaignMark,
    Conversion,
    DailyRollup,
    Segment,
    SegmentMember,
    UniqueMark,
)
from analytics.selectors import data_series, retargeting_profile_ids, variation_results
from analytics.services import (
    app_session_record,
    custom_event_record,
    profile_merge_analytics,
    segment_create_from_results,
)
from campaigns.models import ConversionEvent

from .helpers import make_campaign, make_profile, record, send

pytestmark = pytest.mark.django_db

DAY1 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


def _sum(model, field, **filters):
    return model.objects.filter(**filters).aggregate(n=Sum(field))["n"] or 0


@pytest.fixture
def world():
    campaign = make_campaign(
        variations=[("email", "Mail"), ("apple_push", "Push")],
        conversions=[(ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                      {"custom_event_name": "buy", "window": timedelta(days=3)})])
    email, push = campaign.variations.all()
    anon, known, other = make_profile("anon"), make_profile("known"), make_profile("other")
    # anon: email on day 1 (send s1) and push on day 1; known: email on day 2 (send s1).
    d_anon = send(email, anon, sent_at=DAY1, send_id="s1")
    send(push, anon, sent_at=DAY1)
    d_known = send(email, known, sent_at=DAY2, send_id="s1")
    send(email, other, sent_at=DAY1)
    record(d_anon, "open", occurred_at=DAY1 + timedelta(hours=1))
    record(d_known, "open", occurred_at=DAY2 + timedelta(hours=1))
    # Both convert on the email channel; anon also on push.
    custom_event_record(profile_id=anon.pk, name="buy", time=DAY1 + timedelta(hours=2))
    custom_event_record(profile_id=known.pk, name="buy", time=DAY2 + timedelta(hours=2))
    both = segment_create_from_results(campaign=campaign, behavior="received", variation=email)
    anon_only = segment_create_from_results(campaign=campaign, behavior="received",
                                            variation=push)
    app_session_record(profile_id=anon.pk, time=DAY1, app_id="ios", app_version="2.0")
    app_session_record(profile_id=anon.pk, time=DAY1, app_id="web", app_version="7")
    app_session_record(profile_id=known.pk, time=DAY1, app_id="ios", app_version="1.0")
    return {"campaign": campaign, "email": email, "push": push, "anon": anon, "known": known,
            "other": other, "both": both, "anon_only": anon_only}


def _merge_and_fold(w):
    profile_merge_analytics(source_profile_id=w["anon"].pk, target_profile_id=w["known"].pk)
    w["anon"].delete()  # what the identify service does next


def test_merge_counts_the_user_once_everywhere(world):
    w = world
    before = variation_results(campaign=w["campaign"])
    assert [r.recipients for r in before.rows] == [3, 1]
    assert before.total.recipients == 3
    assert [r.conversions[0]["count"] for r in before.rows] == [2, 1]

    _merge_and_fold(w)

    after = variation_results(campaign=w["campaign"])
    mail, push = after.rows
    # anon and known are one user now: Mail reached known and other; Push reached known.
    assert (mail.recipients, push.recipients, after.total.recipients) == (2, 1, 2)
    assert (mail.unique_opens, push.unique_opens) == (1, 0)
    assert (mail.conversions[0]["count"], push.conversions[0]["count"]) == (1, 1)
    assert mail.sends == 3  # raw counters stay: three emails were really sent
    # Ledger rows and conversions belong to the target; nothing of the source is left.
    assert not UniqueMark.objects.filter(profile_id=w["anon"].pk).exists()
    assert set(Conversion.objects.values_list("profile_id", "channel")) == {
        (w["known"].pk, "email"), (w["known"].pk, "apple_push")}
    assert Conversion.objects.get(channel="email").converted_at == DAY2 + timedelta(hours=2)
    assert set(retargeting_profile_ids(campaign=w["campaign"], variation=None,
                                       behavior="received")) == {w["known"].pk, w["other"].pk}
    # Counters never go below zero anywhere.
    for model in (DailyRollup, CampaignDayRollup):
        for row in model.objects.values():
            assert all(v >= 0 for k, v in row.items() if k.endswith(("recipients", "opens")))


def test_daily_series_after_merge(world):
    w = world
    _merge_and_fold(w)
    day1, day2 = data_series(campaign=w["campaign"], end=DAY2.date(), length=2)
    # Day 1: anon (now known) and other; day 2: known. Each day's distinct users stay.
    assert (day1["unique_recipients"], day2["unique_recipients"]) == (2, 1)
    # Kept: anon's push conversion (day 1) and known's email one (day 2); anon's email
    # conversion (day 1) is dropped, as known already converted on email.
    assert (day1["conversions"], day2["conversions"]) == (1, 1)
    assert (day1["conversions_by_send_time"], day2["conversions_by_send_time"]) == (1, 1)
    # The send s1 reached the merged user on both days: counted once in its lifetime.
    assert _sum(CampaignDayRollup, "first_recipients", send_id="s1") == 1
    assert variation_results(campaign=w["campaign"], send_id="s1").total.recipients == 1
    assert _sum(CampaignDayRollup, "first_recipients", send_id="") == 2


def test_later_events_of_the_merged_user_count_nothing_twice(world):
    w = world
    _merge_and_fold(w)
    # The push reached anon, now known: sending known the push again adds no recipient.
    send(w["push"], w["known"], sent_at=DAY2)
    custom_event_record(profile_id=w["known"].pk, name="buy", time=DAY2 + timedelta(hours=3))
    results = variation_results(campaign=w["campaign"])
    assert [r.recipients for r in results.rows] == [2, 1]
    assert results.total.recipients == 2
    assert Conversion.objects.count() == 2


def test_segments_become_a_union(world):
    w = world
    assert (w["both"].size, w["anon_only"].size) == (3, 1)
    _merge_and_fold(w)
    for segment, members in ((w["both"], {w["known"].pk, w["other"].pk}),
                             (w["anon_only"], {w["known"].pk})):
        segment = Segment.objects.get(pk=segment.pk)
        ids = set(SegmentMember.objects.filter(segment=segment)
                  .values_list("profile_id", flat=True))
        assert ids == members
        assert segment.size == len(members)


def test_app_versions_keep_the_targets_and_gain_the_sources(world):
    w = world
    _merge_and_fold(w)
    assert dict(AppVersionSeen.objects.filter(profile=w["known"])
                .values_list("app_id", "version")) == {"ios": "1.0", "web": "7"}


def test_merging_twice_or_into_itself_changes_nothing(world):
    w = world
    profile_merge_analytics(source_profile_id=w["anon"].pk, target_profile_id=w["anon"].pk)
    assert UniqueMark.objects.filter(profile=w["anon"]).exists()
    snapshot = list(DailyRollup.objects.order_by("pk").values())
    campaign_snapshot = list(CampaignDayRollup.objects.order_by("pk").values())
    profile_merge_analytics(source_profile_id=w["anon"].pk, target_profile_id=w["known"].pk)
    changed = list(DailyRollup.objects.order_by("pk").values())
    profile_merge_analytics(source_profile_id=w["anon"].pk, target_profile_id=w["known"].pk)
    assert list(DailyRollup.objects.order_by("pk").values()) == changed != snapshot
    assert list(CampaignDayRollup.objects.order_by("pk").values()) != campaign_snapshot
    assert CampaignMark.objects.filter(profile=w["known"]).count() == CampaignMark.objects.filter(
        profile__in=[w["known"], w["anon"]]).count()


def test_events_recorded_out_of_order_never_drive_a_day_negative():
    campaign = make_campaign(variations=[("email", "Mail")])
    (email,) = campaign.variations.all()
    anon, known = make_profile("anon"), make_profile("known")
    # anon's day-2 message is recorded before its day-1 one: its lifetime mark (and the
    # first_* counts) landed on day 2, and day 1 has no first-time recipient at all.
    send(email, anon, sent_at=DAY2)
    send(email, anon, sent_at=DAY1)
    send(email, known, sent_at=DAY2)
    profile_merge_analytics(source_profile_id=anon.pk, target_profile_id=known.pk)
    firsts = dict(DailyRollup.objects.values_list("day", "first_recipients"))
    assert firsts == {DAY1.date(): 0, DAY2.date(): 1}
    campaign_firsts = dict(CampaignDayRollup.objects.values_list("day", "first_recipients"))
    assert campaign_firsts == {DAY1.date(): 0, DAY2.date(): 1}
    assert dict(CampaignDayRollup.objects.values_list("day", "unique_recipients")) == {
        DAY1.date(): 1, DAY2.date(): 1}
