"""POST /users/track as a batch: query count independent of size, in-request ordering, races.

The contract itself (fields, limits, partial success) is pinned in test_users_track.py;
these tests pin what the batch rewrite must keep: objects of one request see each
other's effects in order, and the number of queries for attributes does not grow with
the number of objects.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from analytics.models import CustomEvent
from messaging.models import EmailSubscriptionState, Profile, PushToken, UserAlias

pytestmark = pytest.mark.django_db


def track(api, **body):
    response = api.post("/users/track", body)
    assert response.status_code == 201, response.content
    return response.json()


def _mixed_attributes(n: int, tag: str) -> list[dict]:
    """n attribute objects using every identifier kind and every kind of write."""
    items = []
    for i in range(n):
        kind = i % 5
        base = {"first_name": f"N{i}", "tier": "gold", "visits": {"inc": 1},
                "tags": {"add": [f"t{i}"]}, "email_subscribe": "opted_in"}
        if kind == 0:
            base |= {"external_id": f"{tag}-x{i}", "email": f"{tag}{i}@example.test",
                     "push_tokens": [{"app_id": "ios", "token": f"{tag}-tok{i}"}],
                     "date_of_first_session": "2024-01-01T00:00:00Z"}
        elif kind == 1:
            base |= {"user_alias": {"alias_label": "crm", "alias_name": f"{tag}-a{i}"},
                     "_update_existing_only": False}
        elif kind == 2:
            base |= {"email": f"{tag}-only{i}@example.test"}
        elif kind == 3:
            base |= {"phone": f"+1555{i:04d}"}
        else:
            base |= {"external_id": f"{tag}-x{i}", "subscription_groups": [
                {"subscription_group_id": "news", "subscription_state": "subscribed"}]}
        items.append(base)
    return items


@pytest.mark.parametrize("n", [5, 75])
def test_attribute_queries_do_not_grow_with_objects(api, n, django_assert_max_num_queries):
    # Auth + key bookkeeping, transaction, a few reads and one write per kind of row;
    # the same bound holds for 5 objects and for 75, creating and then updating.
    with django_assert_max_num_queries(16):
        body = track(api, attributes=_mixed_attributes(n, "q"))
    assert body["attributes_processed"] == n and "errors" not in body
    assert Profile.objects.count() == n
    with django_assert_max_num_queries(16):
        body = track(api, attributes=_mixed_attributes(n, "q"))
    assert body["attributes_processed"] == n
    assert Profile.objects.count() == n  # found again, not created twice
    profile = Profile.objects.get(external_id="q-x0")
    assert profile.custom_attributes["visits"] == 2
    assert profile.email_subscribe == "opted_in"
    assert PushToken.objects.get(token="q-tok0").profile == profile
    assert UserAlias.objects.filter(alias_label="crm").count() == len(range(1, n, 5))
    assert EmailSubscriptionState.objects.filter(state="opted_in").count() == len(
        [i for i in range(n) if i % 5 in (0, 2)])


def test_bigger_request_costs_no_more_attribute_queries(api):
    from django.test.utils import CaptureQueriesContext

    track(api, attributes=[{"external_id": "warm-up"}])  # the key's first use is recorded
    counts = []
    for n, tag in ((5, "a"), (75, "b")):
        with CaptureQueriesContext(connection) as queries:
            track(api, attributes=_mixed_attributes(n, tag))
        counts.append(len(queries))
    assert counts[1] == counts[0], counts


def _buyers(tag: str, campaign) -> list[str]:
    """Five profiles that received the campaign two hours ago, so their events and
    purchases convert and earn revenue (the whole recording path runs)."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.analytics.helpers import make_profile, send

    variation = campaign.variations.get()
    ids = [f"{tag}-buyer{i}" for i in range(5)]
    for external_id in ids:
        send(variation, make_profile(external_id), sent_at=timezone.now() - timedelta(hours=2))
    return ids


def _mixed_request(n: int, tag: str, buyers: list[str]) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    when = (timezone.now() - timedelta(hours=1)).isoformat()
    return {
        "attributes": _mixed_attributes(n, tag),
        "events": [{"external_id": buyers[i % 5], "name": "checkout" if i % 2 else "browse",
                    "time": when, "properties": {"i": i}} for i in range(n)],
        "purchases": [{"external_id": buyers[i % 5], "product_id": "shoe" if i % 2 else "hat",
                       "currency": "USD", "price": 12.5, "quantity": 1 + i % 2, "time": when}
                      for i in range(n)],
    }


def test_events_and_purchases_cost_no_more_queries_with_more_objects(api):
    from datetime import timedelta

    from django.db.models import Sum
    from django.test.utils import CaptureQueriesContext

    from analytics.models import Conversion, DailyRollup, Purchase
    from campaigns.models import ConversionEvent
    from tests.analytics.helpers import make_campaign

    campaign = make_campaign(conversions=[
        (ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
         {"custom_event_name": "checkout", "window": timedelta(days=1)}),
        (ConversionEvent.Kind.MAKES_SPECIFIC_PURCHASE,
         {"product_id": "shoe", "window": timedelta(days=1)}),
    ])
    track(api, attributes=[{"external_id": "warm-up"}])  # the key's first use is recorded
    counts = []
    for n, tag in ((5, "a"), (25, "b")):
        body = _mixed_request(n, tag, _buyers(tag, campaign))
        with CaptureQueriesContext(connection) as queries:
            answer = track(api, **body)
        assert answer == {"message": "success", "attributes_processed": n,
                          "events_processed": n, "purchases_processed": n}
        counts.append(len(queries))
        # Each buyer converted once per conversion event, however many times it acted.
        buyers = Conversion.objects.filter(profile__external_id__startswith=f"{tag}-buyer")
        converting = len({i % 5 for i in range(n) if i % 2})  # "checkout" / "shoe" buyers
        assert buyers.filter(position=0).count() == converting
        assert buyers.filter(position=1).count() == converting
    # A 25+25+25 request costs what a 5+5+5 one does (it cost ~680 queries one by one).
    assert counts[0] == counts[1], counts
    assert counts[1] <= 32, counts  # when written: 28 on SQLite, 24 on PostgreSQL
    assert CustomEvent.objects.count() == 5 + 25
    units = sum(1 + i % 2 for i in range(5)) + sum(1 + i % 2 for i in range(25))
    assert Purchase.objects.count() == units
    revenue = DailyRollup.objects.filter(campaign=campaign).aggregate(r=Sum("revenue"))["r"]
    assert revenue == units * 12.5


def test_a_failing_event_is_reported_and_the_others_still_land(api, monkeypatch):
    # A database refusal inside the batch (a concurrent delete, say) must not cost the
    # other objects: the batch is rolled back to its savepoint and retried one by one.
    from django.db import IntegrityError

    from analytics import services

    real_batch = services.custom_events_record

    def refuse_batch(*, events):
        if len(events) > 1:
            raise IntegrityError("simulated")
        return real_batch(events=events)  # the single-object function is a batch of one

    def refuse_poison(**kwargs):
        if kwargs["name"] == "poison":
            raise IntegrityError("simulated")
        return real_batch(events=[kwargs])

    monkeypatch.setattr(services, "custom_events_record", refuse_batch)
    monkeypatch.setattr(services, "custom_event_record", refuse_poison)
    body = track(api, attributes=[{"external_id": "u", "first_name": "U"}],
                 events=[{"external_id": "u", "name": "ok", "time": "2024-01-01"},
                         {"external_id": "u", "name": "poison", "time": "2024-01-01"},
                         {"external_id": "u", "name": "fine", "time": "2024-01-02"}],
                 purchases=[{"external_id": "u", "product_id": "p", "currency": "USD",
                             "price": 1, "time": "2024-01-01"}])
    assert body["events_processed"] == 2 and body["purchases_processed"] == 1, body["errors"]
    assert body["errors"] == [{"type": "conflicts with another profile (identifier or token "
                                       "in use)", "input_array": "events", "index": 1}]
    assert sorted(CustomEvent.objects.values_list("name", flat=True)) == ["fine", "ok"]
    assert Profile.objects.get(external_id="u").first_name == "U"


def test_same_user_twice_in_one_request_applies_both_in_order(api):
    track(api, attributes=[{"external_id": "twice", "n": 1}])
    track(api, attributes=[{"external_id": "twice", "n": {"inc": 2}, "tags": ["a"]},
                           {"external_id": "twice", "n": {"inc": 3}, "tags": {"add": ["b"]}}])
    assert Profile.objects.get(external_id="twice").custom_attributes == {"n": 6,
                                                                          "tags": ["a", "b"]}


def test_email_set_earlier_in_the_request_is_found_by_a_later_email_object(api):
    Profile.objects.create(email="shared@example.test", first_name="Older")
    track(api, attributes=[{"external_id": "owner", "email": "shared@example.test"},
                           {"email": "shared@example.test", "last_name": "Newest"}])
    # The profile changed first in the request is the most recently updated one.
    assert Profile.objects.get(external_id="owner").last_name == "Newest"
    assert Profile.objects.get(first_name="Older").last_name == ""


def test_email_only_profile_created_by_attributes_gets_the_later_event(api):
    body = track(api, attributes=[{"email": "new@example.test", "first_name": "New"}],
                 events=[{"email": "new@example.test", "name": "signed_up",
                          "time": "2024-01-01"}])
    assert body == {"message": "success", "attributes_processed": 1, "events_processed": 1}
    profile = Profile.objects.get()
    assert CustomEvent.objects.get().profile == profile and profile.first_name == "New"


def test_update_existing_only_skips_until_an_event_creates_the_user(api):
    track(api, attributes=[{"external_id": "late", "_update_existing_only": True,
                            "first_name": "Skipped"}],
          events=[{"external_id": "late", "name": "e", "time": "2024-01-01"}])
    # One by one: the attributes found nobody, then the event created the user.
    profile = Profile.objects.get(external_id="late")
    assert profile.first_name == "" and profile.custom_events.count() == 1


def test_user_named_only_by_update_existing_only_objects_is_not_created(api):
    track(api, attributes=[{"external_id": "ghost", "_update_existing_only": True}],
          purchases=[{"external_id": "ghost", "_update_existing_only": True,
                      "product_id": "p", "currency": "USD", "price": 1, "time": "2024-01-01"}])
    assert not Profile.objects.exists()


def test_email_state_remembered_earlier_in_request_applies_to_later_profile(api):
    track(api, attributes=[
        {"external_id": "a", "email": "x@example.test", "email_subscribe": "unsubscribed"},
        {"external_id": "b", "email": "x@example.test"},
    ])
    assert Profile.objects.get(external_id="b").email_subscribe == "unsubscribed"
    assert EmailSubscriptionState.objects.get(email="x@example.test").state == "unsubscribed"


def test_push_token_reported_twice_in_one_request_ends_on_the_last_profile(api):
    token = [{"app_id": "ios", "token": "moving", "device_id": "d"}]
    track(api, attributes=[{"external_id": "p1", "push_tokens": token},
                           {"external_id": "p2", "push_tokens": token}])
    assert PushToken.objects.get().profile.external_id == "p2"


def test_validation_failure_at_model_level_leaves_no_trace(api, monkeypatch):
    # A model-level refusal (after the schema accepted the object) is reported for that
    # object only; its pre-created row is removed and the other objects still land.
    from django.core.exceptions import ValidationError

    real = Profile.full_clean

    def refuse_bad(self, *args, **kwargs):
        if self.first_name == "refused":
            raise ValidationError({"first_name": ["refused by the model"]})
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Profile, "full_clean", refuse_bad)
    body = track(api, attributes=[{"external_id": "ok", "first_name": "fine"},
                                  {"external_id": "bad", "first_name": "refused"}])
    assert body["attributes_processed"] == 1
    assert body["errors"] == [{"type": "refused by the model", "input_array": "attributes",
                               "index": 1}]
    assert list(Profile.objects.values_list("external_id", flat=True)) == ["ok"]


# --- concurrency (PostgreSQL: row locks and INSERT … ON CONFLICT) ---------------------------


def _concurrently(api, bodies: list[dict]) -> list[int]:
    from django.test import Client

    statuses: list[int] = []
    barrier = threading.Barrier(len(bodies))

    def post(body: dict) -> None:
        client = Client()
        barrier.wait()
        try:
            response = client.post("/users/track", body, content_type="application/json",
                                   headers={"Authorization": f"Bearer {api.key}"})
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_creating_and_incrementing_the_same_users(api):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (SQLite serialises writers itself)")
    ids = [f"race-{i}" for i in range(30)]
    Profile.objects.bulk_create(Profile(external_id=x) for x in ids[::2])  # half exist
    body = {"attributes": [{"external_id": x, "n": {"inc": 1}} for x in ids],
            "events": [{"external_id": x, "name": "raced", "time": "2024-01-01"} for x in ids]}
    backwards = {name: list(reversed(items)) for name, items in body.items()}
    # Opposite orders: locking rows in request order would deadlock (a 500); rows are
    # locked in primary-key order instead.
    statuses = _concurrently(api, [body, backwards] * 2)
    assert statuses == [201] * 4
    # Every user created once, and no increment lost to a concurrent read-modify-write.
    assert Profile.objects.filter(external_id__in=ids).count() == 30
    assert {p.custom_attributes["n"] for p in Profile.objects.all()} == {4}
    assert CustomEvent.objects.count() == 120


@pytest.mark.django_db(transaction=True)
def test_concurrent_alias_only_creation_keeps_one_profile(api):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL concurrency")
    alias = {"alias_label": "crm", "alias_name": "contested"}
    body = {"attributes": [{"user_alias": alias, "_update_existing_only": False,
                            "first_name": "C"}]}
    statuses = _concurrently(api, [body] * 4)
    assert statuses == [201] * 4
    assert UserAlias.objects.count() == 1
    # The profiles of the requests that lost the alias race were removed, not orphaned.
    assert Profile.objects.count() == 1
