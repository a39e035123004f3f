"""Dashboard pages of analytics: campaign results, CSV export, retargeting segments."""

from __future__ import annotations

import csv
from datetime import UTC, date, timedelta
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from accounts.access import permission_required
from campaigns.models import Campaign
from campaigns.selectors import campaign_by_public_id

from . import charts, reporting, selectors, services
from .models import Segment

MAX_CHART_DAYS = 366
# While messages of the campaign went out this recently, the page polls for new numbers.
LIVE_WINDOW = timedelta(hours=1)


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


def _get_campaign(request: HttpRequest, campaign_id: UUID) -> Campaign:
    # Every marketer of this (single-workspace) install may read every campaign.
    campaign = campaign_by_public_id(campaign_id)
    if campaign is None:
        raise Http404("No such campaign")
    return campaign


class ResultsFilter(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    send_id = forms.CharField(required=False, max_length=64)
    metric = forms.ChoiceField(
        required=False, choices=[(k, v[0]) for k, v in selectors.CHART_METRICS.items()])

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        for name in ("start", "end"):
            if data.get(name) and not 1970 <= data[name].year <= 2999:
                self.add_error(name, "Choose a date between 1970 and 2999.")  # drops it
        if start and end and start > end:
            raise forms.ValidationError("The start date must be on or before the end date.")
        return data


def _range(days: list[dict], start: date | None, end: date | None) -> tuple[date, date]:
    """The dates shown: as asked, else from the first day with data (at least a week)."""
    first_day = days[0]["day"] if days else None
    last_day = days[-1]["day"] if days else None
    today = timezone.now().astimezone(UTC).date()
    end = end or max(today, last_day or today)
    start = start or min(first_day or end, end - timedelta(days=6))
    start = max(start, end - timedelta(days=MAX_CHART_DAYS - 1))
    return min(start, end), end


def _results_context(request: HttpRequest, campaign: Campaign) -> dict:
    form = ResultsFilter(request.GET or None)
    valid = form.is_valid() if request.GET else True
    data = form.cleaned_data if request.GET and valid else {}
    send_id = data.get("send_id") or None
    metric = data.get("metric") or "sent"
    variations = list(campaign.variations.all())
    # One read of the daily rollups feeds the table (whole range asked, or the campaign's
    # whole life) and the chart (the dates shown).
    days = selectors.rollup_days(campaign=campaign, start=data.get("start"),
                                 end=data.get("end"), send_id=send_id)
    start, end = _range(days, data.get("start"), data.get("end"))
    results = selectors.variation_results(campaign=campaign, days=days, variations=variations,
                                          events=list(campaign.conversion_events.all()),
                                          start=data.get("start"), end=data.get("end"),
                                          send_id=send_id)
    series = selectors.daily_series(variations=variations, days=days, metric=metric,
                                    start=start, end=end)
    metric_label = selectors.CHART_METRICS[metric][0]
    chart = charts.line_chart(
        start=start, title=f"{metric_label} per day, {start:%b %d} – {end:%b %d %Y}",
        series=[(f"{v.get_channel_display()} · {v.name}", values) for v, values in series],
    )
    last_sent = campaign.last_sent_at
    live = bool(last_sent and timezone.now() - last_sent < LIVE_WINDOW)
    if not form.is_bound:
        form = ResultsFilter(initial={"start": start, "end": end, "metric": metric})
    return {
        "campaign": campaign, "results": results, "form": form, "chart": chart,
        "metric": metric, "metric_label": metric_label, "start": start, "end": end,
        "send_id": send_id or "", "live": live, "query": request.GET.urlencode(),
        "behaviors": Segment.Behavior.choices, "nav": "messaging",
    }


@permission_required("campaigns.view_campaign")
@require_GET
def campaign_results(request: HtmxRequest, campaign_id: UUID) -> HttpResponse:
    campaign = _get_campaign(request, campaign_id)
    template = "analytics/campaign_results.html"
    if request.htmx:
        template += "#results-live"
    response = render(request, template, _results_context(request, campaign))
    response["Vary"] = "HX-Request"
    return response


# The CSV's fixed columns. `failed` (refused, or provider unreachable), `skipped` (not sent:
# no address or token, unsubscribed, aborted) and `sandboxed` (no provider: reached nobody)
# are never part of `sends` or `deliveries`.
CSV_HEADER = [
    "message_variation_id", "channel", "variant", "sends", "deliveries", "delivery_rate",
    "bounces", "failed", "skipped", "sandboxed", "unique_recipients", "unique_opens",
    "open_rate", "unique_clicks", "click_rate", "unsubscribes",
]


def _csv_event_columns(events: list) -> list[str]:
    """Per conversion event: count (per channel, as Braze), rate, distinct profiles; revenue."""
    return ([f"{e.metric_name} ({e.get_kind_display()})" for e in events]
            + [f"{e.metric_name}_rate" for e in events]
            + [f"{e.metric_name}_profiles" for e in events]
            + ["revenue"])


@permission_required("campaigns.view_campaign")
@require_GET
def campaign_results_csv(request: HttpRequest, campaign_id: UUID) -> HttpResponse:
    campaign = _get_campaign(request, campaign_id)
    context = _results_context(request, campaign)
    results: selectors.CampaignResults = context["results"]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"results-{campaign.api_id}-{context['start']}-{context['end']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER + _csv_event_columns(results.conversion_events))

    def rate(value: float | None) -> str:
        return "" if value is None else f"{value:.4f}"

    for row in [*results.rows, results.total]:
        variation = row.variation
        writer.writerow(
            [str(variation.api_id) if variation else "",
             variation.export_channel if variation else "",
             variation.name if variation else "Total",
             row.sends, row.deliveries, rate(row.delivery_rate), row.bounces, row.failed,
             row.skipped, row.sandboxed, row.recipients, row.unique_opens, rate(row.open_rate),
             row.unique_clicks, rate(row.click_rate), row.unsubscribes]
            + [cell["count"] for cell in row.conversions]
            + [rate(cell["rate"]) for cell in row.conversions]
            + [cell["profiles"] for cell in row.conversions]
            + [f"{row.revenue:.2f}"])
    return response


class RetargetForm(forms.Form):
    behavior = forms.ChoiceField(choices=Segment.Behavior.choices)
    variation = forms.CharField(required=False)
    name = forms.CharField(required=False, max_length=200)


@permission_required("analytics.add_segment")
@require_POST
def segment_create(request: HttpRequest, campaign_id: UUID) -> HttpResponse:
    campaign = _get_campaign(request, campaign_id)
    form = RetargetForm(request.POST)
    results_url = reverse("analytics:campaign-results", args=[campaign.api_id])
    if not form.is_valid():
        messages.error(request, "Choose who to put in the segment.")
        return redirect(results_url)
    variation = None
    if form.cleaned_data["variation"]:
        try:
            variation = campaign.variations.filter(
                api_id=UUID(form.cleaned_data["variation"])).first()
        except ValueError:
            variation = None
        if variation is None:
            messages.error(request, "That variation is not part of this campaign.")
            return redirect(results_url)
    segment = services.segment_create_from_results(
        campaign=campaign, variation=variation, behavior=form.cleaned_data["behavior"],
        name=form.cleaned_data["name"], created_by=request.user)
    messages.success(request, f"Segment “{segment.name}” created with {segment.size} profiles.")
    return redirect("analytics:segment-list")


@permission_required("analytics.view_segment")
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/segment_list.html",
                  {"segments": selectors.segment_list()[:500], "nav": "audience"})


@permission_required("campaigns.view_campaign")
@require_GET
def campaign_headlines(request: HttpRequest) -> HttpResponse:
    """Out-of-band cells for the campaigns list: `#headline-<campaign_id>` per campaign."""
    ids = []
    for value in request.GET.getlist("campaign")[:200]:
        try:
            ids.append(UUID(value))
        except ValueError:
            continue
    return render(request, "analytics/_headlines.html",
                  {"headlines": selectors.campaign_headlines(campaign_ids=ids)})


OVERVIEW_RANGES = (7, 30, 90)


@permission_required("campaigns.view_campaign")
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """What users did lately, across campaigns: sessions, DAU/MAU, revenue, top events.

    The same figures as the REST reporting endpoints (analytics.reporting).
    """
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    if days not in OVERVIEW_RANGES:
        days = 30
    end = timezone.now().astimezone(UTC).date()
    figures = reporting.overview(end=end, length=days)
    start = end - timedelta(days=days - 1)
    sessions = [row["sessions"] for row in figures["sessions"]]
    dau = [row["users"] for row in figures["dau"]]
    mau = [row["users"] for row in figures["mau"]]
    revenue = [row["revenue"] for row in figures["revenue"]]
    has_data = any(sessions) or any(dau) or any(revenue) or bool(figures["top_events"])
    context = {
        "nav": "overview", "days": days, "ranges": OVERVIEW_RANGES, "start": start, "end": end,
        "has_data": has_data, "top_events": figures["top_events"],
        "totals": {"sessions": sum(sessions), "dau": dau[-1], "mau": mau[-1],
                   "revenue": round(sum(revenue), 2)},
        "sessions_chart": charts.line_chart(start=start, series=[("Sessions", sessions)],
                                            title=f"Sessions per day, last {days} days",
                                            chart_id="sessions-chart"),
        "users_chart": charts.line_chart(
            start=start, series=[("Daily active users", dau), ("Monthly active users", mau)],
            title=f"Daily and monthly active users, last {days} days", chart_id="users-chart"),
        "revenue_chart": charts.line_chart(start=start, series=[("Revenue", revenue)],
                                           title=f"Revenue per day, last {days} days",
                                           chart_id="revenue-chart"),
    }
    return render(request, "analytics/overview.html", context)
