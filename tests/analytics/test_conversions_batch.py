"""Batch recording of custom events, purchases and app sessions (one /users/track request).

The single-object functions are batches of one; these tests pin that a batch counts
exactly what the same actions recorded one by one count, in a fixed number of queries.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.models import (
    ROLLUP_COUNTERS,
    AppVersionSeen,
    Conversion,
    CustomEvent,
    DailyRollup,
    Purchase,
)
from analytics.services import (
    app_session_record,
    app_sessions_record,
    custom_event_record,
    custom_events_record,
    purchase_record,
    purchases_record,
)
from campaigns.models import ConversionEvent

from .helpers import make_campaign, make_profile, send

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
Kind = ConversionEvent.Kind
CONVERSION_COUNTERS = [c for c in ROLLUP_COUNTERS if c.startswith("conversions") or c == "revenue"]


@pytest.fixture
def world():
    """Two campaigns on two channels with every kind of conversion event, five profiles
    sent at different times (the edges of the 1-day and 2-day windows fall in the actions)."""
    shop = make_campaign("Shop", variations=[("email", "Mail"), ("apple_push", "Push")],
                         conversions=[
                             (Kind.PERFORMS_CUSTOM_EVENT, {"custom_event_name": "checkout",
                                                           "window": timedelta(days=1)}),
                             (Kind.MAKES_SPECIFIC_PURCHASE, {"product_id": "shoe",
                                                             "window": timedelta(days=2)}),
                             (Kind.STARTS_SESSION, {"window": timedelta(hours=6)}),
                         ])
    app = make_campaign("App", variations=[("email", "Mail")], conversions=[
        (Kind.MAKES_ANY_PURCHASE, {"window": timedelta(hours=12)}),
        (Kind.UPGRADES_APP, {"window": timedelta(days=3)}),
        (Kind.PERFORMS_CUSTOM_EVENT, {"custom_event_name": "checkout",
                                      "window": timedelta(days=2)}),
    ])
    mail, push = shop.variations.order_by("position")
    app_mail = app.variations.get()
    profiles = [make_profile(f"p{i}") for i in range(5)]
    for i, profile in enumerate(profiles):
        send(mail, profile, sent_at=SENT + timedelta(hours=i), send_id="s1")
        if i % 2:
            send(push, profile, sent_at=SENT + timedelta(hours=i, minutes=30))
        if i != 4:
            send(app_mail, profile, sent_at=SENT + timedelta(hours=2 * i))
    return {"shop": shop, "app": app, "profiles": profiles}


def _actions(profiles, seed: int):
    rng = random.Random(seed)
    offsets = [timedelta(0), timedelta(hours=6), timedelta(hours=12), timedelta(days=1),
               timedelta(days=1, seconds=1), timedelta(days=2), timedelta(seconds=-1),
               timedelta(days=3), timedelta(days=31)]
    events, purchases, sessions = [], [], []
    for _ in range(40):
        profile = rng.choice(profiles)
        base = SENT + timedelta(hours=rng.randrange(5))
        events.append({"profile_id": profile.pk, "name": rng.choice(["checkout", "browse"]),
                       "time": base + rng.choice(offsets), "properties": {"n": 1}})
        purchases.append({"profile_id": profile.pk, "product_id": rng.choice(["shoe", "hat"]),
                          "currency": "USD", "price": Decimal(rng.choice(["9.99", "20"])),
                          "quantity": rng.choice([1, 2]), "time": base + rng.choice(offsets)})
        sessions.append({"profile_id": profile.pk, "time": base + rng.choice(offsets),
                         "app_id": "ios", "app_version": rng.choice(["", "1.0", "1.2", "2.0"])})
    return events, purchases, sessions


def _outcome():
    conversions = sorted(Conversion.objects.values_list(
        "conversion_event_id", "profile_id", "channel", "variation_id", "send_id", "sent_at",
        "converted_at", "source"))
    rollups = sorted(
        (row[0], row[1], row[2], row[3], tuple(row[4:]))
        for row in DailyRollup.objects.values_list("campaign_id", "variation_id", "send_id",
                                                   "day", *CONVERSION_COUNTERS)
        if any(row[4:]))
    versions = sorted(AppVersionSeen.objects.values_list("profile_id", "app_id", "version"))
    return conversions, rollups, versions, CustomEvent.objects.count(), Purchase.objects.count()


def _reset():
    Conversion.objects.all().delete()
    CustomEvent.objects.all().delete()
    Purchase.objects.all().delete()
    AppVersionSeen.objects.all().delete()
    DailyRollup.objects.update(**{c: 0 for c in CONVERSION_COUNTERS})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_counts_exactly_what_one_by_one_counts(world, seed):
    events, purchases, sessions = _actions(world["profiles"], seed)
    for e in events:
        custom_event_record(**e)
    for p in purchases:
        purchase_record(**p)
    for s in sessions:
        app_session_record(**s)
    one_by_one = _outcome()
    assert one_by_one[0], "the world should produce conversions"
    assert any(r[4][-1] for r in one_by_one[1]), "and revenue"
    _reset()
    custom_events_record(events=events)
    purchases_record(purchases=purchases)
    app_sessions_record(sessions=sessions)
    assert _outcome() == one_by_one


def test_two_matching_events_in_one_batch_convert_once_at_the_first(world):
    profile = world["profiles"][0]
    first, second = SENT + timedelta(hours=2), SENT + timedelta(hours=1)
    custom_events_record(events=[
        {"profile_id": profile.pk, "name": "checkout", "time": first},
        {"profile_id": profile.pk, "name": "checkout", "time": second},
    ])
    rows = Conversion.objects.filter(profile=profile, campaign=world["shop"])
    # Batch order, not time order, decides, as it did one call after another.
    assert [c.converted_at for c in rows] == [first]
    # A retry of the same batch counts nothing more.
    custom_events_record(events=[{"profile_id": profile.pk, "name": "checkout", "time": first}])
    assert rows.count() == 1
    assert CustomEvent.objects.filter(profile=profile).count() == 3


def test_revenue_goes_only_to_campaigns_whose_primary_window_covers_it(world):
    profile = world["profiles"][0]  # shop mail at SENT (2 days: shoe... primary is checkout,
    # 1 day), app mail at SENT (primary: any purchase, 12 hours)
    purchases_record(purchases=[
        {"profile_id": profile.pk, "product_id": "hat", "currency": "USD",
         "price": Decimal("10"), "quantity": 2, "time": SENT + timedelta(hours=12)},
        {"profile_id": profile.pk, "product_id": "hat", "currency": "USD",
         "price": Decimal("1"), "quantity": 1, "time": SENT + timedelta(hours=13)},
    ])
    revenue = {c: sum(r.revenue for r in DailyRollup.objects.filter(campaign=world[c]))
               for c in ("shop", "app")}
    assert revenue == {"shop": Decimal("21"), "app": Decimal("20")}
    assert Purchase.objects.filter(profile=profile).count() == 3


def test_versions_move_in_batch_order(world):
    profile = world["profiles"][0]
    conversions = app_sessions_record(sessions=[
        {"profile_id": profile.pk, "time": SENT, "app_id": "ios", "app_version": "1.0"},
        {"profile_id": profile.pk, "time": SENT, "app_id": "ios", "app_version": "0.9"},
        {"profile_id": profile.pk, "time": SENT + timedelta(hours=1), "app_id": "ios",
         "app_version": "1.1"},
    ])
    # First seen: no upgrade; 1.0 → 0.9 is not one; 0.9 → 1.1 is. "Starts Session"
    # converts once (the first session), "Upgrades App" on the third.
    assert sorted((c.conversion_event.kind, c.source, c.converted_at) for c in conversions) == [
        (Kind.STARTS_SESSION, "session", SENT),
        (Kind.UPGRADES_APP, "upgrade", SENT + timedelta(hours=1))]
    assert AppVersionSeen.objects.get(profile=profile).version == "1.1"
    app_sessions_record(sessions=[
        {"profile_id": profile.pk, "time": SENT, "app_id": "ios", "app_version": "1.0"}])
    assert AppVersionSeen.objects.get(profile=profile).version == "1.0"


@pytest.mark.parametrize("record, make", [
    (custom_events_record, lambda p, t: {"profile_id": p, "name": "checkout", "time": t}),
    (purchases_record, lambda p, t: {"profile_id": p, "product_id": "shoe", "currency": "USD",
                                     "price": Decimal(5), "quantity": 1, "time": t}),
    (app_sessions_record, lambda p, t: {"profile_id": p, "time": t, "app_id": "ios",
                                        "app_version": "1.0"}),
])
def test_queries_do_not_grow_with_the_batch(world, record, make):
    profiles = world["profiles"]
    counts = []
    for n in (2, 30):
        _reset()
        items = [make(profiles[i % 5].pk, SENT + timedelta(hours=i % 5, minutes=i))
                 for i in range(n)]
        with CaptureQueriesContext(connection) as queries:
            record(**{record.__name__.split("_record")[0].split("_")[-1]: items})
        counts.append(len(queries))
    assert Conversion.objects.exists()  # the conversion path really ran
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8, [q["sql"][:80] for q in queries.captured_queries]
