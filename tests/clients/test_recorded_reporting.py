"""Replays the requests that airbyte-source-braze and braze-mcp-server made against a
live Herald (recorded once, tests/clients/recorded/reporting_requests.json): each answers
as it did, in the shape the client's own model reads."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from analytics.models import Segment, SegmentMember
from messaging.models import Profile
from tests.analytics.helpers import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

RECORDED = json.loads((Path(__file__).parent / "recorded" / "reporting_requests.json")
                      .read_text())
CASES = [(client, entry) for client, entries in RECORDED.items() if not client.startswith("_")
         for entry in entries]


@pytest.fixture
def herald(live_server, api_key):
    """A live Herald with a campaign, a segment and a few days of tracked activity."""
    now = timezone.now()
    key = api_key[1]
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {key}"}
                      ) as client:
        tracked = client.post("/users/track", json={
            "events": [{"external_id": f"u{i}", "name": name,
                        "time": (now - timedelta(days=i)).isoformat()}
                       for i in range(4) for name in ("viewed_item", "added_to_cart")],
            "purchases": [{"external_id": "u1", "product_id": "shoe", "currency": "USD",
                           "price": 12, "quantity": 2, "time": now.isoformat()}],
            "attributes": [{"external_id": "u2", "date_of_last_session": now.isoformat()}],
        })
        assert tracked.status_code == 201, tracked.text
    campaign = make_campaign("Order shipped")
    segment = Segment.objects.create(name="Buyers", size=1)
    SegmentMember.objects.create(segment=segment, profile=Profile.objects.get(external_id="u1"))
    return {"url": live_server.url, "key": key, "campaign_id": str(campaign.api_id),
            "segment_id": segment.segment_id,
            "today": now.astimezone(UTC).date().isoformat()}


def _check(herald: dict, entry: dict) -> None:
    path = entry["path"].format(**herald)
    response = httpx.get(herald["url"] + path,
                         headers={"Authorization": f"Bearer {herald['key']}"}, timeout=30)
    assert response.status_code == entry.get("status", 200), response.text
    body = response.json()
    if response.status_code != 200:
        assert body["message"] and body["errors"]  # a 400 says what is wrong
        return
    assert body["message"] == "success"
    if "list" in entry:
        assert isinstance(body[entry["list"]], list)
        assert bool(body[entry["list"]]) != entry.get("empty", False)  # page 1: past the end
    if "keys" in entry:
        assert all(body.get(key) is not None for key in entry["keys"])
    if "series" in entry:
        days = body["data"]
        assert days and days[-1]["time"] <= herald["today"]
        assert all(len(day["time"]) == 10 for day in days)  # YYYY-MM-DD
        if entry["series"]:
            assert all(set(day) == {"time", entry["series"]} for day in days)
            assert all(isinstance(day[entry["series"]], int | float) for day in days)


def test_recorded_requests_answer_as_the_clients_read_them(herald):
    # One live server and one data set for every recorded request (each is a read).
    failures = []
    for client_name, entry in CASES:
        try:
            _check(herald, entry)
        except AssertionError as exc:
            failures.append(f"{client_name}: GET {entry['path']}: {exc}")
    assert not failures, "\n".join(failures)
    assert len(CASES) == 31
