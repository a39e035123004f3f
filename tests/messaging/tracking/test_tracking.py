"""Signed tracking links: open pixel, click redirect (no open redirect), unsubscribe."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock
from urllib.parse import urlsplit

import pytest
import redis.exceptions
from django.core import signing
from django.db import models
from django.db.models import Sum
from django.utils import timezone

from analytics.models import DailyRollup, EngagementEvent, TrackingHit
from config.celery import app
from messaging.access import cache_outage
from messaging.models import SubscriptionState
from messaging.services import tracking as tracking_services
from messaging.tracking import links as tracking
from messaging.tracking import tasks as tracking_tasks
from tests.analytics.helpers import make_campaign, make_profile, send

pytestmark = pytest.mark.django_db

HTML = ('<html><body><p>Hi</p><a href="https://shop.example/orders?id=1&amp;x=2">Order</a>'
        '<a href="mailto:help@example.test">Mail us</a><a href=\'javascript:alert(1)\'>x</a>'
        '<a class="b" href="http://example.test/b">B</a></body></html>')
HUMAN_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Mail/3774"


@pytest.fixture
def delivery():
    campaign = make_campaign()
    profile = make_profile("ann")
    return send(campaign.variations.get(), profile,
                sent_at=timezone.now() - timedelta(minutes=10))


def _rollup(variation) -> SimpleNamespace:
    """The variation's counters summed over its days: the delivery was sent 10 minutes
    before the hit, so a run just after midnight has two rollup rows."""
    counters = [f.name for f in DailyRollup._meta.concrete_fields
                if isinstance(f, models.IntegerField) and not f.primary_key]
    totals = DailyRollup.objects.filter(variation=variation).aggregate(
        **{name: Sum(name) for name in counters})
    return SimpleNamespace(**{name: value or 0 for name, value in totals.items()})


def _paths(html: str, kind: str) -> list[str]:
    return [urlsplit(url).path for url in re.findall(r'(?:href|src)="([^"]+)"', html)
            if f"/t/{kind}/" in url]


def _kinds() -> list[str]:
    return sorted(EngagementEvent.objects.exclude(kind="sent").values_list("kind", flat=True))


def test_instrumented_email_tracks_http_links_only(delivery):
    html = tracking.instrument_email(HTML, message_id=delivery.message_id)
    assert "https://shop.example/orders" not in html  # rewritten
    assert 'href="mailto:help@example.test"' in html
    assert "javascript:alert(1)" in html and len(_paths(html, "c")) == 2
    assert len(_paths(html, "o")) == 1 and len(_paths(html, "u")) == 1
    assert html.index("/t/o/") < html.index("</body>")


def test_click_redirects_to_the_original_link_and_counts(client, delivery):
    html = tracking.instrument_email(HTML, message_id=delivery.message_id)
    first, second = _paths(html, "c")
    response = client.get(first)
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/orders?id=1&x=2"
    assert client.get(second)["Location"] == "http://example.test/b"
    client.get(first)
    rollup = _rollup(delivery.variation)
    assert (rollup.clicks, rollup.unique_clicks, rollup.first_clicks) == (3, 1, 1)


@pytest.mark.parametrize("added", [
    "?url=https://evil.example",
    "?u=https://evil.example",
    "?url=https://evil.example&u=https://evil.example&next=//evil.example&redirect=x",
    "?u=%2F%2Fevil.example&l=https%3A%2F%2Fevil.example",
    "?m=other&i=1",
])
def test_a_click_link_with_added_parameters_leads_only_to_its_signed_link(client, delivery,
                                                                          added):
    html = tracking.instrument_email(HTML, message_id=delivery.message_id)
    first, second = _paths(html, "c")
    for path, signed in ((first, "https://shop.example/orders?id=1&x=2"),
                         (second, "http://example.test/b")):
        response = client.get(path + added)
        assert response.status_code == 302
        assert response["Location"] == signed
        assert "evil" not in response["Location"]
    # Parameters in the path itself (before the token) name no link either.
    token = first.rsplit("/", 1)[1]
    assert client.get(f"/t/c/https://evil.example/{token}").status_code == 404


def test_a_compressed_click_token_of_an_older_email_still_leads_to_its_link(client, delivery):
    # Tokens were zlib-compressed until compression proved the dearest step of signing;
    # emails already in inboxes carry such tokens.
    token = signing.dumps({"m": delivery.message_id, "i": 0, "u": "https://shop.example/a"},
                          salt=tracking.SALT_CLICK, compress=True)
    response = client.get(f"/t/c/{token}")
    assert response.status_code == 302 and response["Location"] == "https://shop.example/a"


def test_tampered_or_forged_tokens_are_404_and_record_nothing(client, delivery):
    html = tracking.instrument_email(HTML, message_id=delivery.message_id)
    click = _paths(html, "c")[0]
    token = click.rsplit("/", 1)[1]
    forged_redirect = signing.dumps({"m": delivery.message_id, "i": 0, "u": "https://evil.test"},
                                    salt="wrong-salt", compress=True)
    open_token_as_click = _paths(html, "o")[0].rsplit("/", 1)[1]
    attempts = [
        click[:-3] + ("AAA" if not click.endswith("AAA") else "BBB"),
        f"/t/c/{token[:-1]}",
        f"/t/c/{forged_redirect}",
        f"/t/c/{open_token_as_click}",  # a valid token of another purpose
        "/t/c/not-a-token",
        f"/t/o/{token}",
        f"/t/u/{token}",
    ]
    for path in attempts:
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"evil" not in response.content
        assert delivery.message_id.encode() not in response.content
    assert _kinds() == []


def test_link_of_a_deleted_message_still_leads_to_its_page_and_counts_nothing(client):
    # The token was signed by us, so its link is safe to follow; with no delivery left
    # (the profile was deleted) the hit is dropped when folded.
    response = client.get(urlsplit(tracking.click_url("f" * 32, 0, "https://a.test")).path)
    assert (response.status_code, response["Location"]) == (302, "https://a.test")
    assert _kinds() == []
    assert not TrackingHit.objects.exists()


def test_hits_are_kept_until_a_worker_folds_them(client, delivery, settings):
    """With a worker (not eager), the request only writes the raw hit."""
    app.conf.task_always_eager = False  # the autouse fixture restores it
    tracking_tasks._Throttle.next_ask = 0.0
    settings.CELERY_BROKER_URL = "memory://"
    with mock.patch.object(tracking_tasks.tracking_hits_fold_task, "apply_async") as queued:
        client.get(urlsplit(tracking.open_url(delivery.message_id)).path,
                   headers={"User-Agent": HUMAN_UA})
        client.get(urlsplit(tracking.click_url(delivery.message_id, 0, "https://a.test")).path)
    assert TrackingHit.objects.count() == 2 and _kinds() == []
    # Both hits within the fold delay: one fold is queued, and it takes both.
    assert queued.call_count == 1
    assert tracking_services.tracking_hits_fold() == 2
    assert sorted(_kinds()) == ["click", "open"]
    assert not TrackingHit.objects.exists()
    assert tracking_services.tracking_hits_fold() == 0


def test_a_burst_of_hits_asks_redis_once_per_fold_delay(client, delivery, settings):
    app.conf.task_always_eager = False  # the autouse fixture restores it
    tracking_tasks._Throttle.next_ask = 0.0
    path = urlsplit(tracking.open_url(delivery.message_id)).path
    with mock.patch.object(tracking_tasks.cache, "add", return_value=True) as add, \
            mock.patch.object(tracking_tasks.tracking_hits_fold_task, "apply_async"):
        for _ in range(20):
            assert client.get(path, headers={"User-Agent": HUMAN_UA}).status_code == 200
    assert add.call_count == 1
    assert TrackingHit.objects.count() == 20


def test_the_pixel_answers_and_keeps_the_hit_while_redis_is_down(client, delivery, settings):
    app.conf.task_always_eager = False  # the autouse fixture restores it
    tracking_tasks._Throttle.next_ask = 0.0
    cache_outage.reset()

    def unreachable(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    with mock.patch.object(tracking_tasks.cache, "add", unreachable), \
            mock.patch.object(tracking_tasks.tracking_hits_fold_task, "apply_async") as queued:
        response = client.get(urlsplit(tracking.open_url(delivery.message_id)).path,
                              headers={"User-Agent": HUMAN_UA})
    cache_outage.reset()
    assert response.status_code == 200
    assert TrackingHit.objects.count() == 1 and not queued.called
    # Once Redis is back, the periodic fold counts it.
    assert tracking_services.tracking_hits_fold() == 1 and _kinds() == ["open"]


def test_a_fold_counts_every_hit_once_in_batches(delivery):
    for _ in range(5):
        tracking_services.hit_record(kind="open", message_id=delivery.message_id,
                                     user_agent=HUMAN_UA)
    assert tracking_services.tracking_hits_fold(batch=2) == 5
    rollup = _rollup(delivery.variation)
    assert (rollup.opens, rollup.unique_opens) == (5, 1)


def test_click_token_never_redirects_off_http(client, delivery):
    # Even a validly signed token with a non-web URL must not redirect there.
    path = urlsplit(tracking.click_url(delivery.message_id, 0, "javascript:alert(1)")).path
    assert client.get(path).status_code == 404


def test_open_pixel_counts_human_and_flags_machine_opens(client, delivery):
    pixel = _paths(tracking.instrument_email(HTML, message_id=delivery.message_id), "o")[0]
    response = client.get(pixel, headers={"User-Agent": HUMAN_UA})
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    client.get(pixel, headers={"User-Agent": HUMAN_UA})
    client.get(pixel, headers={"User-Agent": "Mozilla/5.0"})  # Apple Mail Privacy Protection
    client.get(pixel, headers={"User-Agent": "Barracuda Sentinel (EE)"})
    rollup = _rollup(delivery.variation)
    assert (rollup.opens, rollup.unique_opens, rollup.machine_opens) == (2, 1, 2)


def test_open_right_after_sending_is_a_machine_open(client, delivery):
    delivery.sent_at = timezone.now()
    delivery.save()
    client.get(urlsplit(tracking.open_url(delivery.message_id)).path,
               headers={"User-Agent": HUMAN_UA})
    assert _kinds() == ["machine_open"]


def test_open_tracking_disabled_profile_records_nothing(client, delivery):
    delivery.profile.email_open_tracking_disabled = True
    delivery.profile.save()
    response = client.get(urlsplit(tracking.open_url(delivery.message_id)).path,
                          headers={"User-Agent": HUMAN_UA})
    assert response.status_code == 200 and _kinds() == []


def test_unsubscribe_page_asks_then_unsubscribes_once(client, delivery, api):
    path = urlsplit(tracking.unsubscribe_url(delivery.message_id)).path
    page = client.get(path)
    assert page.status_code == 200 and b"Unsubscribe?" in page.content
    delivery.profile.refresh_from_db()
    assert delivery.profile.email_subscribe == SubscriptionState.SUBSCRIBED  # GET changes nothing
    done = client.post(path)
    assert done.status_code == 200 and b"You are unsubscribed" in done.content
    client.post(path)
    delivery.profile.refresh_from_db()
    assert delivery.profile.email_subscribe == SubscriptionState.UNSUBSCRIBED
    assert _rollup(delivery.variation).unsubscribes == 1
    listed = api.get("/email/unsubscribes", {"email": delivery.profile.email,
                                             "end_date": "2100-01-01"}).json()
    assert [row["email"] for row in listed["emails"]] == [delivery.profile.email]


def test_one_click_unsubscribe_header_works_without_csrf(delivery):
    from django.test import Client

    headers = tracking.unsubscribe_headers(message_id=delivery.message_id)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    assert url.startswith("http") and "/t/u/" in url
    response = Client(enforce_csrf_checks=True).post(
        urlsplit(url).path, "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    delivery.profile.refresh_from_db()
    assert delivery.profile.email_subscribe == SubscriptionState.UNSUBSCRIBED
