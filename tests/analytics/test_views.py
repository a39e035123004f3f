"""Results page, CSV export, headline cells, retargeting and segment pages."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import Segment
from analytics.services import custom_event_record
from campaigns.models import ConversionEvent

from .helpers import make_campaign, make_profile, record, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    campaign = make_campaign(
        variations=[("email", "Control copy"), ("email", "Short copy")],
        conversions=[(ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                      {"custom_event_name": "buy", "window": timedelta(days=1)})])
    a, b = campaign.variations.all()
    sent_at = timezone.now() - timedelta(hours=2)
    for i in range(10):
        d = send(a if i < 5 else b, make_profile(f"p{i}"), sent_at=sent_at)
        record(d, "delivered")
        if i in (0, 1, 5, 6, 7):
            record(d, "open", key=f"o{i}")
        if i in (5, 6):
            custom_event_record(profile_id=d.profile_id, name="buy", time=timezone.now())
    return campaign


def _url(campaign, name="analytics:campaign-results"):
    return reverse(name, args=[campaign.api_id])


def test_results_page_shows_each_variation_and_totals(marketer_client, campaign):
    response = marketer_client.get(_url(campaign))
    assert response.status_code == 200
    html = response.content.decode()
    a, b = campaign.variations.all()
    assert f'data-variation="{a.api_id}"' in html and f'data-variation="{b.api_id}"' in html
    rows = {row.variation.name if row.variation else "Total": row
            for row in [*response.context["results"].rows, response.context["results"].total]}
    assert (rows["Control copy"].sends, rows["Control copy"].unique_opens) == (5, 2)
    assert (rows["Short copy"].unique_opens, rows["Short copy"].conversions[0]["count"]) == (3, 2)
    assert (rows["Total"].sends, rows["Total"].deliveries) == (10, 10)
    assert "40.0%" in html and "60.0%" in html  # open rates of the two variants
    assert "<svg" in html and html.count('class="series"') == 2
    assert "Confidence that the difference is real" in html


def test_results_htmx_answer_is_the_live_fragment(marketer_client, campaign):
    response = marketer_client.get(_url(campaign), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith("<section id=\"results-live\"")


def test_results_poll_only_while_sending(marketer_client, campaign):
    assert 'hx-trigger="every' not in marketer_client.get(_url(campaign)).content.decode()
    campaign.last_sent_at = timezone.now()
    campaign.save()
    assert 'hx-trigger="every' in marketer_client.get(_url(campaign)).content.decode()


def test_results_reads_a_fixed_number_of_queries(marketer_client, campaign,
                                                 django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        marketer_client.get(_url(campaign))


def test_empty_state_before_anything_was_sent(marketer_client):
    campaign = make_campaign(name="Quiet")
    html = marketer_client.get(_url(campaign)).content.decode()
    assert "Nothing sent yet" in html and "<svg" not in html


def test_date_filter_and_bad_range(marketer_client, campaign):
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    response = marketer_client.get(_url(campaign), {"start": tomorrow, "end": tomorrow})
    assert response.context["results"].total.sends == 0
    bad = marketer_client.get(_url(campaign), {"start": tomorrow, "end": "2020-01-01"})
    assert bad.status_code == 200
    assert "start date must be on or before" in bad.content.decode()


def test_csv_export_has_a_row_per_variation_and_totals(marketer_client, campaign):
    response = marketer_client.get(_url(campaign, "analytics:campaign-results-csv"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["variant"] for r in rows] == ["Control copy", "Short copy", "Total"]
    assert [r["sends"] for r in rows] == ["5", "5", "10"]
    assert rows[1]["conversions (Performs custom event)"] == "2"
    assert rows[1]["open_rate"] == "0.6000"


def test_retarget_form_creates_a_segment(marketer_client, campaign):
    b = campaign.variations.get(name="Short copy")
    response = marketer_client.post(reverse("analytics:segment-create", args=[campaign.api_id]),
                                    {"behavior": "opened", "variation": str(b.api_id)})
    assert response.status_code == 302 and response["Location"] == reverse("analytics:segment-list")
    segment = Segment.objects.get()
    assert (segment.size, segment.source_variation, segment.behavior) == (3, b, "opened")
    page = marketer_client.get(reverse("analytics:segment-list")).content.decode()
    assert segment.segment_id in page and "Short copy" in page


def test_retarget_refuses_a_variation_of_another_campaign(marketer_client, campaign):
    other = make_campaign(name="Other").variations.get()
    response = marketer_client.post(reverse("analytics:segment-create", args=[campaign.api_id]),
                                    {"behavior": "opened", "variation": str(other.api_id)})
    assert response.status_code == 302 and Segment.objects.count() == 0


def test_headlines_are_out_of_band_cells(marketer_client, campaign):
    quiet = make_campaign(name="Quiet")
    response = marketer_client.get(reverse("analytics:campaign-headlines"), {
        "campaign": [str(campaign.api_id), str(quiet.api_id), "junk"]})
    html = response.content.decode()
    assert f'<td id="headline-{campaign.api_id}" hx-swap-oob="true"' in html
    assert "10 sent" in html and "5 unique opens" in html
    assert f'id="headline-{quiet.api_id}"' in html and "Not sent yet" in html


@pytest.mark.parametrize("name", ["analytics:campaign-results", "analytics:campaign-results-csv"])
def test_pages_refuse_anonymous_visitors(client, campaign, name):
    response = client.get(_url(campaign, name))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_unknown_campaign_is_404(marketer_client):
    url = reverse("analytics:campaign-results", args=["4f1c2b8e-7d3a-4c11-9e0b-5a6f2d1c9e77"])
    assert marketer_client.get(url).status_code == 404


@pytest.mark.parametrize(("method", "name", "args"), [
    ("get", "analytics:segment-list", False),
    ("get", "analytics:campaign-headlines", False),
    ("post", "analytics:segment-create", True),
])
def test_other_pages_refuse_anonymous_visitors(client, campaign, method, name, args):
    url = reverse(name, args=[campaign.api_id] if args else [])
    response = getattr(client, method)(url, {"behavior": "opened"} if method == "post" else {})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Segment.objects.count() == 0


def test_results_show_no_open_rate_for_sms_but_do_for_email(marketer_client):
    campaign = make_campaign(
        name="Texts", variations=(("sms", "Variant 1"), ("email", "Variant 1")))
    profile = make_profile("ann")
    for variation in campaign.variations.all():
        send(variation, profile)
    response = marketer_client.get(f"/messaging/campaigns/{campaign.api_id}/results/")
    assert response.status_code == 200
    # The SMS row reads "—"; the email row and the totals keep their open rates.
    assert response.content.decode().count('title="This channel has no opens"') == 1
