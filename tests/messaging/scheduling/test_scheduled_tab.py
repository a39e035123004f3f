"""The campaign page's Scheduled tab: list, move, cancel, by role; empty states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry
from messaging.models import ScheduledMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(api, campaign, variation, make_profile):
    make_profile(external_id="ada", email="ada@example.test")

    def make(when="2099-03-01T10:00:00+00:00", **schedule):
        response = api.post("/messages/schedule/create", {
            "campaign_id": campaign.campaign_id,
            "external_user_ids": ["ada"],
            "schedule": {"time": when, **schedule},
            "messages": {"email": {
                "app_id": "a", "message_variation_id": variation("email"),
                "from": "o@acme.test", "subject": "S", "body": "B",
            }},
        })
        assert response.status_code == 201, response.json()
        return ScheduledMessage.objects.get(schedule_id=response.json()["schedule_id"])

    return make


def _url(campaign):
    return reverse("messaging:campaign-scheduled", args=[campaign.api_id])


def test_empty_states_name_the_endpoint(marketer_client, campaign):
    page = marketer_client.get(_url(campaign)).content.decode()
    assert 'id="pending-empty"' in page and "/messages/schedule/create" in page
    assert 'id="past-empty"' in page


def test_campaign_page_links_the_tab(marketer_client, campaign):
    page = marketer_client.get(reverse("campaigns:detail", args=[campaign.api_id])).content
    assert _url(campaign).encode() in page


def test_lists_pending_with_ids_and_past_with_dispatches(marketer_client, campaign, scheduled):
    waiting = scheduled()
    local = scheduled("2099-03-02T09:00:00", in_local_time=True)
    gone = scheduled()
    gone.status, gone.dispatch_ids = "sent", [gone.dispatch_id]
    gone.save()
    page = marketer_client.get(_url(campaign)).content.decode()
    assert page.count('data-testid="pending-row"') == 2
    assert str(waiting.schedule_id) in page and str(local.schedule_id) in page
    assert "Each user&#x27;s time zone" in page or "Each user's time zone" in page
    assert page.count('data-testid="past-row"') == 1
    assert reverse("messaging:dispatch-detail", args=[gone.dispatch_id]) in page


def test_marketer_moves_a_schedule_and_it_is_audited(marketer_client, scheduled):
    row = scheduled()
    prefix = f"s-{row.schedule_id}"
    response = marketer_client.post(
        reverse("messaging:schedule-move", args=[row.schedule_id]),
        {f"{prefix}-time": "2099-04-05T06:07", f"{prefix}-delivery": "utc"},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.send_at == datetime(2099, 4, 5, 6, 7, tzinfo=UTC) and not row.in_local_time
    assert AuditEntry.objects.filter(action="schedule.moved").count() == 1


def test_move_to_a_passed_local_time_is_refused_with_a_message(marketer_client, scheduled):
    row = scheduled()
    prefix = f"s-{row.schedule_id}"
    response = marketer_client.post(
        reverse("messaging:schedule-move", args=[row.schedule_id]),
        {f"{prefix}-time": "2001-01-01T00:00", f"{prefix}-delivery": "local"}, follow=True,
    )
    assert "already passed in every time zone" in response.content.decode()
    row.refresh_from_db()
    assert row.send_at == datetime(2099, 3, 1, 10, 0, tzinfo=UTC)


def test_marketer_cancels_a_schedule(marketer_client, scheduled):
    row = scheduled()
    response = marketer_client.post(reverse("messaging:schedule-cancel", args=[row.schedule_id]))
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == "cancelled" and row.cancelled_by.username == "marketer"
    assert AuditEntry.objects.filter(action="schedule.cancelled").count() == 1


def test_viewer_reads_but_cannot_move_or_cancel(client, make_user, campaign, scheduled):
    row = scheduled()
    client.force_login(make_user("viewer", role="Viewer"))
    page = client.get(_url(campaign))
    assert page.status_code == 200 and b"Cancel this message" not in page.content
    refused = client.post(reverse("messaging:schedule-cancel", args=[row.schedule_id]))
    assert refused.status_code == 403
    row.refresh_from_db()
    assert row.status == "scheduled"


def test_anonymous_goes_to_login_and_no_role_is_refused(client, make_user, campaign):
    assert client.get(_url(campaign)).status_code == 302
    client.force_login(make_user("nobody"))
    assert client.get(_url(campaign)).status_code == 403


def test_unknown_campaign_or_schedule_is_404(marketer_client):
    assert marketer_client.get(
        "/messaging/campaigns/00000000-0000-4000-8000-000000000000/scheduled/"
    ).status_code == 404
    assert marketer_client.post(
        "/messaging/scheduled/00000000-0000-4000-8000-000000000000/cancel/"
    ).status_code == 404


def test_list_queries_do_not_grow_with_rows(marketer_client, campaign, scheduled,
                                            django_assert_max_num_queries):
    for n in range(6):
        scheduled((timezone.now() + timedelta(days=n + 1)).isoformat())
    with django_assert_max_num_queries(12):
        assert marketer_client.get(_url(campaign)).status_code == 200
