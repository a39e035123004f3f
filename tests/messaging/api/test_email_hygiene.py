"""Email hygiene: hard bounces recorded from real SMTP answers, spam complaints from
/email/feedback (Herald's JSON and a Postmark webhook), the lists, and the pipeline
skipping both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from messaging.models import Delivery, EmailSuppression, Profile
from tests.analytics.helpers import make_campaign
from tests.messaging.channels.test_email_smtp import Inbox, smtp  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _send(api, campaign, users):
    variation = campaign.variations.get()
    response = api.post("/messages/send", {
        "campaign_id": str(campaign.api_id), "external_user_ids": users,
        "messages": {"email": {"app_id": "web", "message_variation_id": str(variation.api_id),
                               "from": "Shop <shop@example.test>", "subject": "Hi",
                               "body": "<p>Hello</p>"}}})
    assert response.status_code == 201, response.content
    return response.json()["dispatch_id"]


def _rows(dispatch_id):
    return {d.profile.external_id: (d.status, d.error)
            for d in Delivery.objects.filter(dispatch__dispatch_id=dispatch_id)
            .select_related("profile")}


def test_a_permanent_smtp_refusal_suppresses_the_address_for_later_sends(
    api, smtp: Inbox, django_capture_on_commit_callbacks  # noqa: F811
):
    Profile.objects.create(external_id="gone", email="gone@example.test")
    Profile.objects.create(external_id="ok", email="ok@example.test")
    campaign = make_campaign("Receipts")
    with django_capture_on_commit_callbacks(execute=True):
        first = _send(api, campaign, ["gone", "ok"])
    assert _rows(first)["gone"][0] == Delivery.Status.BOUNCED
    suppression = EmailSuppression.objects.get()
    assert (suppression.email, suppression.reason) == ("gone@example.test", "hard_bounce")
    assert suppression.source == "smtp: 550 5.1.1 No such user"

    listed = api.get("/email/hard_bounces", {"email": "gone@example.test"}).json()
    assert [e["email"] for e in listed["emails"]] == ["gone@example.test"]
    assert listed["emails"][0]["hard_bounced_at"].endswith(" +0000")

    with django_capture_on_commit_callbacks(execute=True):
        second = _send(api, campaign, ["gone", "ok"])
    assert _rows(second)["gone"] == (Delivery.Status.SKIPPED, "email hard bounced")
    assert _rows(second)["ok"][0] == Delivery.Status.DELIVERED
    assert [to for to, _ in smtp.messages] == [["ok@example.test"], ["ok@example.test"]]

    assert api.post("/email/bounce/remove", {"email": "gone@example.test"}).status_code == 201
    assert not EmailSuppression.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        third = _send(api, campaign, ["gone"])
    assert _rows(third)["gone"][0] == Delivery.Status.BOUNCED  # tried again, refused again


def test_feedback_in_herald_shape_records_spam_and_unsubscribes(api):
    profile = Profile.objects.create(external_id="ann", email="ann@example.test")
    response = api.post("/email/feedback", {"reports": [
        {"type": "spam", "email": "Ann@Example.test", "time": "2026-03-01T10:00:00Z"},
        {"type": "hard_bounce", "email": "old@example.test"}]})
    assert response.status_code == 200, response.content
    assert response.json() == {"message": "success", "recorded": 2}
    profile.refresh_from_db()
    assert profile.email_subscribe == "unsubscribed"
    spam = api.get("/email/spam", {"start_date": "2026-03-01", "end_date": "2026-03-01"})
    assert spam.json()["emails"] == [{"email": "ann@example.test",
                                      "spam_reported_at": "2026-03-01 10:00:00 +0000"}]
    assert EmailSuppression.objects.filter(reason="hard_bounce").get().email == (
        "old@example.test")


def test_feedback_takes_postmark_webhooks_as_postmark_sends_them(api):
    complaint = {"RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": 42,
                 "Type": "SpamComplaint", "TypeCode": 512, "Email": "john@example.com",
                 "From": "sender@example.com", "BouncedAt": "2019-11-05T16:33:54.9070259Z",
                 "Subject": "Test subject", "Inactive": True, "CanActivate": False,
                 "MessageID": "00000000-0000-0000-0000-000000000000", "Details": "",
                 "Tag": "", "Metadata": {}, "Content": "", "DumpAvailable": True,
                 "Name": "Spam complaint", "Description": "The subscriber explicitly marked "
                 "this message as spam.", "ServerID": 23}
    response = api.post("/email/feedback", complaint)
    assert response.status_code == 200, response.content
    row = EmailSuppression.objects.get()
    assert (row.email, row.reason, row.source) == ("john@example.com", "spam",
                                                   "feedback: postmark")
    assert row.recorded_at == datetime(2019, 11, 5, 16, 33, 54, 907025, tzinfo=UTC)
    soft = {**complaint, "RecordType": "Bounce", "Type": "SoftBounce", "Email": "x@y.co"}
    assert api.post("/email/feedback", soft).json()["recorded"] == 0
    hard = {**soft, "Type": "HardBounce"}
    assert api.post("/email/feedback", hard).json()["recorded"] == 1
    assert EmailSuppression.objects.filter(email="x@y.co", reason="hard_bounce").exists()


def test_spam_reported_through_engagement_track_suppresses_too(
    api, smtp: Inbox, django_capture_on_commit_callbacks  # noqa: F811
):
    Profile.objects.create(external_id="ann", email="ann@example.test")
    campaign = make_campaign("News")
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_id = _send(api, campaign, ["ann"])
    delivery = Delivery.objects.get(dispatch__dispatch_id=dispatch_id)
    response = api.post("/engagement/track", {"events": [
        {"type": "email_spam", "message_id": delivery.message_id}]})
    assert response.status_code == 201, response.content
    assert EmailSuppression.objects.get().reason == "spam"
    with django_capture_on_commit_callbacks(execute=True):
        again = _send(api, campaign, ["ann"])
    assert _rows(again)["ann"] == (Delivery.Status.SKIPPED, "email marked as spam")


def test_blacklist_unsubscribes_and_marks_hard_bounced(api):
    profile = Profile.objects.create(external_id="b", email="b@example.test")
    for path in ("/email/blacklist", "/email/blocklist"):
        response = api.post(path, {"email": ["b@example.test", "c@example.test"]})
        assert response.status_code == 201 and response.json() == {"message": "success"}
    profile.refresh_from_db()
    assert profile.email_subscribe == "unsubscribed"
    assert set(EmailSuppression.objects.values_list("email", "reason")) == {
        ("b@example.test", "hard_bounce"), ("c@example.test", "hard_bounce")}
    assert api.post("/email/spam/remove", {"email": "b@example.test"}).status_code == 201
    assert EmailSuppression.objects.count() == 2  # spam/remove lifts only spam


@pytest.mark.parametrize("method, path, data", [
    ("post", "/email/blacklist", {}),
    ("post", "/email/blacklist", {"email": []}),
    ("post", "/email/blacklist", {"email": "not-an-address"}),
    ("post", "/email/bounce/remove", {"email": [f"a{i}@b.co" for i in range(51)]}),
    ("post", "/email/spam/remove", {"email": "a@b.co", "extra": 1}),
    ("post", "/email/feedback", {"reports": [{"type": "virus", "email": "a@b.co"}]}),
    ("post", "/email/feedback", {"reports": [{"type": "spam"}]}),
    ("post", "/email/feedback", {"RecordType": "SpamComplaint"}),
    ("get", "/email/hard_bounces", {}),
    ("get", "/email/hard_bounces", {"start_date": "2026-03-02", "end_date": "2026-03-01"}),
    ("get", "/email/spam", {"start_date": "2026-03-01", "end_date": "2026-03-02",
                            "limit": 501}),
])
def test_invalid_requests_are_400_and_change_nothing(api, method, path, data):
    Profile.objects.create(external_id="z", email="z@example.test")
    response = getattr(api, method)(path, data)
    assert response.status_code == 400, response.content
    assert response.json()["message"]
    assert not EmailSuppression.objects.exists()
    assert Profile.objects.get().email_subscribe == "subscribed"
