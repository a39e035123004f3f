"""One date style on every dashboard page: "28 Nov 2026, 19:08", full time on hover."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from messaging.models import ApiKey, Dispatch, Profile

pytestmark = pytest.mark.django_db
MOMENT = datetime(2026, 11, 28, 19, 8, 27, tzinfo=UTC)
SHOWN = "28 Nov 2026, 19:08"
TIME_ELEMENT = (
    '<time datetime="2026-11-28T19:08:27+00:00" title="28 Nov 2026, 19:08:27 UTC">'
    "28 Nov 2026, 19:08</time>"
)
# The formats the pages used before: "Nov. 28, 2026, 7:08 p.m.", "Nov 28, 19:08:27", ISO-ish.
OLD_STYLES = re.compile(r"Nov\. 28|[ap]\.m\.|Nov 28, |2026-11-28 19:08")


def _render(source: str, **context) -> str:
    return Template("{% load herald_dates %}" + source).render(Context(context))


def test_when_renders_a_time_element_with_the_full_stamp_on_hover():
    assert _render("{{ v|when }}", v=MOMENT) == TIME_ELEMENT
    assert _render("{{ v|when }}", v=None) == ""


def test_when_follows_the_active_time_zone():
    with timezone.override("Europe/Paris"):
        html = _render("{{ v|when }}", v=MOMENT)
    assert ">28 Nov 2026, 20:08</time>" in html and "20:08:27 CET" in html


def test_ago_reads_relative_with_the_absolute_time_on_hover():
    html = _render("{{ v|ago }}", v=timezone.now() - timedelta(minutes=5))
    assert re.fullmatch(r'<time datetime="[^"]+" title="[^"]+ UTC">5\xa0minutes ago</time>', html)


def test_django_date_filters_use_the_same_style():
    assert _render("{{ d|date }}", d=date(2026, 11, 28)) == "28 Nov 2026"
    assert _render('{{ v|date:"DATETIME_FORMAT" }}', v=MOMENT) == SHOWN
    assert _render('{{ v|date:"SHORT_DATETIME_FORMAT" }}', v=MOMENT) == SHOWN


def test_campaign_page(marketer_client, make_campaign):
    campaign = make_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(created_at=MOMENT, last_sent_at=MOMENT)
    html = marketer_client.get(campaign.get_absolute_url()).content.decode()
    assert html.count(TIME_ELEMENT) == 2  # created, last sent
    # Last edited reads relative ("just now", "1 minute ago"), absolute on hover.
    assert re.search(r'<time datetime="[^"]+" title="[^"]+ UTC">(just now|[^<]+ ago)</time>', html)
    assert not OLD_STYLES.search(html)


def test_sends_list_and_send_page(marketer_client, make_campaign):
    dispatch = Dispatch.objects.create(campaign=make_campaign(), messages={"email": {}})
    Dispatch.objects.filter(pk=dispatch.pk).update(created_at=MOMENT)
    for url in [
        reverse("messaging:dispatch-list"),
        reverse("messaging:dispatch-detail", args=[dispatch.dispatch_id]),
    ]:
        html = marketer_client.get(url).content.decode()
        assert TIME_ELEMENT in html, url
        assert not OLD_STYLES.search(html), url


def test_profiles_and_api_keys(admin_member_client, make_api_key):
    profile = Profile.objects.create(external_id="ada", dob=date(1990, 3, 4))
    Profile.objects.filter(pk=profile.pk).update(created_at=MOMENT, updated_at=MOMENT)
    key, _ = make_api_key()
    ApiKey.objects.filter(pk=key.pk).update(created_at=MOMENT)
    detail = admin_member_client.get(reverse("messaging:profile-detail", args=[profile.braze_id]))
    for html in [
        admin_member_client.get(reverse("messaging:profile-list")).content.decode(),
        detail.content.decode(),
        admin_member_client.get(reverse("messaging:api-key-list")).content.decode(),
    ]:
        assert TIME_ELEMENT in html
        assert not OLD_STYLES.search(html)
    assert "4 Mar 1990" in detail.content.decode()
