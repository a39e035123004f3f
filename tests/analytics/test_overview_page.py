"""The dashboard's Overview page: sessions, active users, revenue and top events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db

URL = "/analytics/overview/"


def _track(api):
    now = timezone.now()
    response = api.post("/users/track", {
        "events": [{"external_id": "ann", "name": "viewed_item", "time": now.isoformat()},
                   {"external_id": "bob", "name": "viewed_item", "time": now.isoformat()},
                   {"external_id": "bob", "name": "shared", "time": now.isoformat()}],
        "purchases": [{"external_id": "ann", "product_id": "shoe", "currency": "EUR",
                       "price": 12.5, "quantity": 2, "time": now.isoformat()}],
        "attributes": [{"external_id": "cid",
                        "date_of_last_session": (now - timedelta(days=1)).isoformat()}],
    })
    assert response.status_code == 201


def test_overview_shows_the_figures_as_charts(marketer_client, api):
    _track(api)
    response = marketer_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="stat-sessions">1<' in html
    assert 'id="stat-dau">2<' in html  # ann and bob today; cid's session was yesterday
    assert 'id="stat-mau">3<' in html
    assert 'id="stat-revenue">25.00<' in html
    for chart in ("sessions-chart", "users-chart", "revenue-chart"):
        assert f'aria-labelledby="{chart}-title"' in html
    assert html.index(">viewed_item<") < html.index(">shared<")  # most frequent first


def test_overview_empty_state_and_period(marketer_client):
    response = marketer_client.get(URL, {"days": 7})
    html = response.content.decode()
    assert 'id="overview-empty"' in html and "No activity yet" in html
    assert 'href="?days=7" aria-current="page"' in html
    # A period it does not offer falls back to 30 days rather than failing.
    assert 'href="?days=30" aria-current="page"' in marketer_client.get(
        URL, {"days": "999x"}).content.decode()


def test_overview_query_count_is_flat(marketer_client, api, django_assert_max_num_queries):
    _track(api)
    with django_assert_max_num_queries(10):
        assert marketer_client.get(URL, {"days": 90}).status_code == 200


def test_overview_refuses_anonymous_and_roleless(client, make_user):
    assert client.get(URL).status_code == 302
    client.force_login(make_user("nobody", role=None))
    assert client.get(URL).status_code == 403
    client.force_login(make_user("viewer", role="Viewer"))
    assert client.get(URL).status_code == 200
