"""Connected Audience (spec §3.1): filter trees resolved by the database (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging.audience import (
    audience_matches,
    audience_needs_python,
    audience_normalize,
    audience_q,
)
from messaging.delivery import shards as pipeline
from messaging.models import Delivery, Dispatch, Profile

pytestmark = pytest.mark.django_db

EMAIL = {"app_id": "a", "from": "Acme <orders@acme.test>", "subject": "Hi", "body": "<p>Hi</p>"}


def _ago(days: float) -> str:
    return (timezone.now() - timedelta(days=days)).isoformat()


@pytest.fixture
def people(make_profile):
    """Attribute values chosen to trip type confusions: "30" vs 30, true vs 1, "a" vs ["a"]."""
    rows = {
        "gold": {
            "plan": "gold",
            "age": 30,
            "vip": True,
            "tags": ["a", "b"],
            "favourite colour": "teal",
            "a.b": 1,
            "seen": _ago(2),
            "nums": [1, 2],
        },
        "silver": {
            "plan": "silver",
            "age": "30",
            "vip": False,
            "tags": ["b"],
            "seen": {"$time": _ago(40)},
            "nums": ["1"],
        },
        "empty": {},
        "upper": {"plan": "Gold", "age": 30.0, "tags": "a", "vip": 1, "seen": _ago(-3)},
        "nulls": {"plan": None, "age": 12.5, "tags": [], "flags": [True]},
    }
    made = {}
    for name, attributes in rows.items():
        made[name] = make_profile(external_id=name, custom_attributes=attributes)
    Profile.objects.filter(external_id="silver").update(push_subscribe="opted_in")
    Profile.objects.filter(external_id="upper").update(email_subscribe="unsubscribed")
    return made


def ca(name, comparison, value=None):
    leaf = {"custom_attribute_name": name, "comparison": comparison}
    if value is not None:
        leaf["value"] = value
    return {"custom_attribute": leaf}


def matched(tree) -> set[str]:
    """What the database selects, finished in Python only for Python-only leaves."""
    checked = audience_normalize(tree)
    rows = Profile.objects.filter(audience_q(checked))
    if audience_needs_python(checked):
        return {p.external_id for p in rows if audience_matches(checked, p)}
    return set(rows.values_list("external_id", flat=True))


SQL_CASES = [
    (ca("plan", "equals", "gold"), {"gold"}),
    (ca("plan", "not_equal", "gold"), {"silver", "empty", "upper", "nulls"}),
    (ca("plan", "exists"), {"gold", "silver", "upper"}),  # a stored null does not exist
    (ca("plan", "does_not_exist"), {"empty", "nulls"}),
    (ca("age", "equals", 30), {"gold", "upper"}),  # 30.0 == 30, "30" is a string
    (ca("age", "greater_than", 12.5), {"gold", "upper"}),
    (ca("age", "greater_than_or_equal_to", 12.5), {"gold", "upper", "nulls"}),
    (ca("age", "less_than", 30), {"nulls"}),  # the string "30" is not a number
    (ca("age", "less_than_or_equal_to", 30), {"gold", "upper", "nulls"}),
    (ca("age", "not_equal", 30), {"silver", "empty", "nulls"}),
    (ca("vip", "equals", True), {"gold"}),  # 1 is not true
    (ca("vip", "does_not_equal", True), {"silver", "empty", "upper", "nulls"}),
    (ca("vip", "equals", False), {"silver"}),
    (ca("tags", "includes_value", "a"), {"gold"}),  # "a" alone is not an array
    (ca("tags", "does_not_include_value", "a"), {"silver", "empty", "upper", "nulls"}),
    (ca("nums", "includes_value", 1), {"gold"}),  # "1" is not 1
    (ca("nums", "includes_value", "1"), {"silver"}),
    (ca("flags", "includes_value", True), {"nulls"}),
    (ca("favourite colour", "equals", "teal"), {"gold"}),  # a space in the name
    (ca("a.b", "equals", 1), {"gold"}),  # a dot is part of the name, not a path
    ({"push_subscription_status": {"comparison": "is", "value": "opted_in"}}, {"silver"}),
    (
        {"email_subscription_status": {"comparison": "is_not", "value": "subscribed"}},
        {"upper"},
    ),
    (
        {
            "OR": [
                ca("plan", "equals", "silver"),
                {"AND": [ca("age", "exists"), ca("vip", "equals", 1)]},
            ]
        },
        {"silver", "upper"},  # upper's vip is the number 1
    ),
    (
        {
            "AND": [
                ca("tags", "exists"),
                {"OR": [ca("age", "less_than", 20), ca("plan", "equals", "Gold")]},
            ]
        },
        {"upper", "nulls"},
    ),
]


@pytest.mark.parametrize(("tree", "expected"), SQL_CASES)
def test_sql_filters_per_attribute_type(people, tree, expected):
    # These leaves are all SQL: the database result alone must be exact.
    assert not audience_needs_python(audience_normalize(tree))
    assert matched(tree) == expected


PYTHON_CASES = [
    (ca("plan", "matches_regex", "^g"), {"gold"}),  # case-sensitive
    (ca("plan", "matches_regex", "(?i)^g"), {"gold", "upper"}),
    (ca("plan", "does_not_match_regex", "^g"), {"silver", "upper", "empty", "nulls"}),
    (ca("seen", "less_than_x_days_ago", 7), {"gold"}),
    (ca("seen", "greater_than_x_days_ago", 30), {"silver"}),  # {"$time": …} is a time too
    (ca("seen", "less_than_x_days_in_the_future", 5), {"upper"}),
    (ca("seen", "greater_than_x_days_in_the_future", 5), set()),
    (ca("seen", "after", _ago(10)), {"gold", "upper"}),
    (ca("seen", "before", _ago(10)), {"silver"}),
    ({"AND": [ca("plan", "matches_regex", "o"), ca("age", "equals", 30)]}, {"gold", "upper"}),
]


@pytest.mark.parametrize(("tree", "expected"), PYTHON_CASES)
def test_regex_and_time_leaves(people, tree, expected):
    assert audience_needs_python(audience_normalize(tree))
    assert matched(tree) == expected


LEAVES = st.sampled_from(
    [case[0] for case in SQL_CASES[:22]]
    + [ca("nope", "exists"), ca("nope", "not_equal", "x"), ca("nums", "does_not_include_value", 2)]
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.builds(
        lambda op, items: {op: items},
        st.sampled_from(["AND", "OR"]),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=TREES)
def test_database_and_python_agree_on_random_trees(people, tree):
    checked = audience_normalize(tree)
    in_database = set(
        Profile.objects.filter(audience_q(checked)).values_list("external_id", flat=True)
    )
    in_python = {p.external_id for p in Profile.objects.all() if audience_matches(checked, p)}
    assert in_database == in_python


# --- Through /messages/send and the pipeline ----------------------------------------------------


@pytest.fixture
def send(api, django_capture_on_commit_callbacks, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    def post(payload):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/messages/send", payload)
        assert response.status_code == 201, response.json()
        return Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])

    return post


def _sent_to(dispatch) -> set[str]:
    return set(
        Delivery.objects.filter(dispatch=dispatch, status="delivered").values_list(
            "profile__external_id", flat=True
        )
    )


def test_broadcast_narrowed_by_audience(send, people):
    tree = {"OR": [ca("plan", "equals", "gold"), ca("age", "less_than", 20)]}
    dispatch = send({"broadcast": True, "audience": tree, "messages": {"email": EMAIL}})
    dispatch.refresh_from_db()
    assert _sent_to(dispatch) == {"gold", "nulls"}
    assert dispatch.recipients_total == 2
    assert len(mail.outbox) == 2
    assert dispatch.audience["filter"] == tree


def test_explicit_recipients_intersect_the_audience(send, people):
    dispatch = send(
        {
            "external_user_ids": ["gold", "silver", "empty"],
            "audience": ca("tags", "exists"),
            "messages": {"email": EMAIL},
        }
    )
    assert _sent_to(dispatch) == {"gold", "silver"}


def test_python_leaves_are_finished_per_batch_while_paging(send, make_profile, monkeypatch):
    for i in range(7):
        make_profile(external_id=f"p{i}", custom_attributes={"code": f"x{i}" if i % 2 else f"y{i}"})
    pages = []
    original = pipeline.audience_batches

    def spy(profiles, size=None, **kwargs):
        for batch in original(profiles, size=2, **kwargs):
            pages.append([p.external_id for p in batch])
            yield batch

    monkeypatch.setattr(pipeline, "audience_batches", spy)
    dispatch = send(
        {
            "broadcast": True,
            "audience": ca("code", "matches_regex", "^x"),
            "messages": {"email": EMAIL},
        }
    )
    dispatch.refresh_from_db()
    assert _sent_to(dispatch) == {"p1", "p3", "p5"}
    assert dispatch.recipients_total == 3  # counted exactly, not the SQL superset of 7
    assert all(pages) and sorted(sum(pages, [])) == ["p1", "p3", "p5"]


def test_the_sql_does_the_filtering(people):
    tree = audience_normalize(
        {"AND": [ca("tags", "includes_value", "a"), ca("age", "greater_than", 3)]}
    )
    sql = str(Profile.objects.filter(audience_q(tree)).query).upper()
    assert "JSON" in sql  # JSON_TYPE / JSONB_TYPEOF / JSON_EACH / -> in the WHERE clause
    assert list(Profile.objects.filter(audience_q(tree)).values_list("external_id", flat=True)) == [
        "gold"
    ]
