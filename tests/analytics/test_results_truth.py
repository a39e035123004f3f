"""The results tell the truth: failures, bounces, skips and sandbox per variation, and
conversions and revenue credited without counting the same one twice (issue 8).

Events are recorded directly with `engagement_record_many`, as the delivery engine
records them (skipped and sandboxed included), so these tests need no engine.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from analytics import selectors
from analytics.services import custom_event_record, engagement_record_many, purchase_record
from campaigns.models import ConversionEvent

from .helpers import make_campaign, make_profile

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def _events(variation, kind, profiles, *, at=SENT, send_id=""):
    return [{"kind": kind, "channel": variation.channel,
             "dedupe_key": f"{variation.pk}:{profile.external_id}:{kind}",
             "campaign_id": variation.campaign_id, "variation_id": variation.pk,
             "send_id": send_id, "profile_id": profile.pk, "occurred_at": at}
            for profile in profiles]


@pytest.fixture
def campaign():
    return truth_campaign()


def truth_campaign():
    """Four channels; alice gets all four and converts once, then buys once.

    email "Plain": sent alice bob cleo dan; delivered alice bob; hard bounce cleo; failed
      dan; skipped eve fay (no address); alice opens and clicks.
    email "Bold": sandboxed gus hal ivy (no provider): nothing really sent.
    push: sent alice bob (an hour later than the rest, send_id "wave"); delivered alice;
      soft bounce bob; skipped cleo (no push token).
    webhook: sent alice bob; delivered alice; failed bob.
    sms: sent alice bob; hard bounce (carrier rejection) bob; failed alice.
    """
    campaign = make_campaign(
        name="Truth", variations=[("email", "Plain"), ("email", "Bold"),
                                  ("apple_push", "Push"), ("webhook", "Hook"), ("sms", "Text")],
        conversions=[(ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                      {"custom_event_name": "checkout", "window": timedelta(days=1)}),
                     (ConversionEvent.Kind.MAKES_ANY_PURCHASE, {"window": timedelta(days=1)})])
    plain, bold, push, hook, text = campaign.variations.all()
    p = {name: make_profile(name) for name in
         ("alice", "bob", "cleo", "dan", "eve", "fay", "gus", "hal", "ivy")}
    a, b, c, d = p["alice"], p["bob"], p["cleo"], p["dan"]
    later = SENT + timedelta(hours=1)
    events = (
        _events(plain, "sent", [a, b, c, d]) + _events(plain, "delivered", [a, b])
        + _events(plain, "bounce_hard", [c]) + _events(plain, "failed", [d])
        + _events(plain, "skipped", [p["eve"], p["fay"]])
        + _events(plain, "open", [a], at=SENT + timedelta(minutes=5))
        + _events(plain, "click", [a], at=SENT + timedelta(minutes=6))
        + _events(bold, "sandboxed", [p["gus"], p["hal"], p["ivy"]])
        + _events(push, "sent", [a, b], at=later, send_id="wave")
        + _events(push, "delivered", [a], at=later, send_id="wave")
        + _events(push, "bounce_soft", [b], at=later, send_id="wave")
        + _events(push, "skipped", [c], at=later, send_id="wave")
        + _events(push, "direct_open", [a], at=later + timedelta(minutes=1), send_id="wave")
        + _events(hook, "sent", [a, b]) + _events(hook, "delivered", [a])
        + _events(hook, "failed", [b])
        + _events(text, "sent", [a, b]) + _events(text, "bounce_hard", [b])
        + _events(text, "failed", [a])
    )
    engagement_record_many(events=events)
    custom_event_record(profile_id=a.pk, name="checkout", time=SENT + timedelta(hours=2))
    purchase_record(profile_id=a.pk, product_id="shoes", currency="USD",
                    price=Decimal("10.00"), quantity=2, time=SENT + timedelta(hours=3))
    return campaign


def _rows(results):
    return {row.variation.name if row.variation else "Total": row
            for row in [*results.rows, results.total]}


def test_failures_skips_and_sandbox_per_variation(campaign):
    rows = _rows(selectors.variation_results(campaign=campaign))
    got = {name: (r.sends, r.deliveries, r.bounces, r.failed, r.skipped, r.sandboxed)
           for name, r in rows.items()}
    assert got == {
        "Plain": (4, 2, 1, 1, 2, 0),
        "Bold": (0, 0, 0, 0, 0, 3),  # the sandbox is never a send nor a delivery
        "Push": (2, 1, 1, 0, 1, 0),
        "Hook": (2, 1, 0, 1, 0, 0),
        "Text": (2, 0, 1, 1, 0, 0),
        "Total": (10, 4, 3, 3, 3, 3),
    }


def test_a_conversion_counts_per_channel_and_revenue_once(campaign):
    rows = _rows(selectors.variation_results(campaign=campaign))
    # alice converted once on each of the 4 channels she was sent (Braze's count) ...
    primary = {name: r.conversions[0]["count"] for name, r in rows.items()}
    assert primary == {"Plain": 1, "Bold": 0, "Push": 1, "Hook": 1, "Text": 1, "Total": 4}
    # ... and the Total says that is one profile, for each conversion event.
    assert [cell["profiles"] for cell in rows["Total"].conversions] == [1, 1]
    assert rows["Total"].recipients == 4  # alice, bob, cleo, dan: once each
    # The purchase (2 × $10) is credited once, to the last message alice received: the push.
    revenue = {name: r.revenue for name, r in rows.items()}
    assert revenue == {"Plain": 0, "Bold": 0, "Push": Decimal("20"), "Hook": 0, "Text": 0,
                       "Total": Decimal("20")}


def test_converting_profiles_follow_the_filters(campaign):
    day = SENT.date()
    assert selectors.converting_profiles(campaign=campaign, start=day, end=day) == {0: 1, 1: 1}
    assert selectors.converting_profiles(campaign=campaign, start=day + timedelta(days=1)) == {}
    assert selectors.converting_profiles(campaign=campaign, send_id="wave") == {0: 1, 1: 1}
    assert selectors.converting_profiles(campaign=campaign, send_id="other") == {}


def test_csv_header_and_every_cell(marketer_client, campaign):
    url = reverse("analytics:campaign-results-csv", args=[campaign.api_id])
    response = marketer_client.get(url)
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == [
        "message_variation_id", "channel", "variant", "sends", "deliveries", "delivery_rate",
        "bounces", "failed", "skipped", "sandboxed", "unique_recipients", "unique_opens",
        "open_rate", "unique_clicks", "click_rate", "unsubscribes",
        "conversions (Performs custom event)", "conversions1 (Makes purchase (any product))",
        "conversions_rate", "conversions1_rate", "conversions_profiles",
        "conversions1_profiles", "revenue"]
    ids = {v.name: str(v.api_id) for v in campaign.variations.all()}
    assert table[1:] == [
        [ids["Plain"], "email", "Plain", "4", "2", "0.5000", "1", "1", "2", "0", "4", "1",
         "0.5000", "1", "0.5000", "0", "1", "1", "0.2500", "0.2500", "1", "1", "0.00"],
        [ids["Bold"], "email", "Bold", "0", "0", "", "0", "0", "0", "3", "0", "0",
         "", "0", "", "0", "0", "0", "", "", "0", "0", "0.00"],
        [ids["Push"], "ios_push", "Push", "2", "1", "0.5000", "1", "0", "1", "0", "2", "0",
         "0.0000", "0", "0.0000", "0", "1", "1", "0.5000", "0.5000", "1", "1", "20.00"],
        [ids["Hook"], "webhook", "Hook", "2", "1", "0.5000", "0", "1", "0", "0", "2", "0",
         "0.0000", "0", "0.0000", "0", "1", "1", "0.5000", "0.5000", "1", "1", "0.00"],
        [ids["Text"], "sms", "Text", "2", "0", "0.0000", "1", "1", "0", "0", "2", "0",
         "0.0000", "0", "0.0000", "0", "1", "1", "0.5000", "0.5000", "1", "1", "0.00"],
        ["", "", "Total", "10", "4", "0.4000", "3", "3", "3", "3", "4", "1",
         "0.2500", "1", "0.2500", "0", "4", "4", "1.0000", "1.0000", "1", "1", "20.00"],
    ]


def test_data_series_in_braze_field_names(api, campaign):
    response = api.get("/campaigns/data_series", {
        "campaign_id": str(campaign.api_id), "length": 1, "ending_at": "2026-03-04"})
    assert response.status_code == 200
    (day,) = response.json()["data"]
    # Campaign totals: conversions per channel as Braze counts them, revenue once.
    assert (day["conversions"], day["conversions1"], day["revenue"]) == (4, 4, 20.0)
    assert day["unique_recipients"] == 4
    plain, bold = day["messages"]["email"]
    assert {k: plain[k] for k in ("sent", "delivered", "bounces", "skipped", "sandboxed")} == {
        "sent": 4, "delivered": 2, "bounces": 2, "skipped": 2, "sandboxed": 0}
    assert {k: bold[k] for k in ("sent", "delivered", "bounces", "sandboxed")} == {
        "sent": 0, "delivered": 0, "bounces": 0, "sandboxed": 3}
    (push,) = day["messages"]["ios_push"]
    assert {k: push[k] for k in ("sent", "bounces", "skipped", "sandboxed")} == {
        "sent": 2, "bounces": 1, "skipped": 1, "sandboxed": 0}
    (hook,) = day["messages"]["webhook"]
    assert {k: hook[k] for k in ("sent", "errors", "skipped")} == {
        "sent": 2, "errors": 1, "skipped": 0}
    (text,) = day["messages"]["sms"]
    assert {k: text[k] for k in ("sent", "delivered", "rejected", "delivery_failed")} == {
        "sent": 2, "delivered": 0, "rejected": 1, "delivery_failed": 1}
    # Revenue once: the entries add up to the day's total.
    entries = [e for channel in day["messages"].values() for e in channel]
    assert sum(e["revenue"] for e in entries) == day["revenue"] == 20.0


def test_send_series_splits_undelivered_push(api, campaign):
    response = api.get("/sends/data_series", {
        "campaign_id": str(campaign.api_id), "send_id": "wave", "length": 1,
        "ending_at": "2026-03-04"})
    (day,) = response.json()["data"]
    (push,) = day["messages"]["ios_push"]
    assert {k: push[k] for k in ("sent", "delivered", "undelivered", "delivery_failed",
                                 "bounces", "skipped")} == {
        "sent": 2, "delivered": 1, "undelivered": 1, "delivery_failed": 0, "bounces": 1,
        "skipped": 1}
    # Only alice's push is in this send: its conversions and the revenue it earned.
    assert (day["conversions"], day["revenue"]) == (1, 20.0)


def test_results_page_shows_the_new_columns_and_the_crediting(marketer_client, campaign):
    response = marketer_client.get(
        reverse("analytics:campaign-results", args=[campaign.api_id]))
    html = response.content.decode()
    for header in (">Bounces<", ">Failed<", ">Skipped<", ">Sandbox<"):
        assert header in html
    assert 'id="sandbox-note"' in html and "never counted as sends or deliveries" in html
    assert 'data-metric="sandboxed">3<' in html
    assert 'id="crediting"' in html
    assert "once per conversion event <em>on each channel</em>" in html
    assert "Revenue</strong> is credited once per purchase" in html
    assert 'data-metric="conversions_profiles">1 profile<' in html


def test_only_sandbox_deliveries_are_not_an_empty_page(marketer_client):
    campaign = make_campaign(name="Sandboxed", variations=[("email", "Only")])
    (only,) = campaign.variations.all()
    engagement_record_many(events=_events(only, "sandboxed", [make_profile("zoe")]))
    html = marketer_client.get(
        reverse("analytics:campaign-results", args=[campaign.api_id])).content.decode()
    assert "Nothing sent yet" not in html
    assert "Everything so far went to the sandbox" in html


def test_without_sandbox_the_column_is_left_out(marketer_client):
    campaign = make_campaign(name="Real", variations=[("email", "Only")])
    (only,) = campaign.variations.all()
    engagement_record_many(events=_events(only, "sent", [make_profile("zoe")]))
    html = marketer_client.get(
        reverse("analytics:campaign-results", args=[campaign.api_id])).content.decode()
    assert ">Sandbox<" not in html and 'id="sandbox-note"' not in html
    assert ">Failed<" in html and ">Skipped<" in html
