"""Dispatch pages: a campaign's recent sends (a campaign page fragment) and one send, live."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from campaigns.models import Campaign
from campaigns.selectors import campaign_by_public_id

from ..models import Delivery, Dispatch

RECIPIENTS_PER_PAGE = 25
RECENT_DISPATCHES = 20


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


def _get_dispatch(request: HttpRequest, dispatch_id: str) -> Dispatch:
    dispatch = (
        Dispatch.objects.select_related("campaign", "api_key")
        .filter(dispatch_id=dispatch_id)
        .first()
    )
    if dispatch is None:
        raise Http404("No such dispatch")
    return dispatch


def _dispatch_list(campaign: Campaign | None) -> QuerySet[Dispatch]:
    dispatches = Dispatch.objects.select_related("campaign").order_by("-created_at")
    return dispatches.filter(campaign=campaign) if campaign is not None else dispatches


@login_required
@require_GET
def dispatch_list(request: HtmxRequest) -> HttpResponse:
    campaign = None
    if request.GET.get("campaign"):
        campaign = campaign_by_public_id(request.GET["campaign"])
        if campaign is None:
            raise Http404("No such campaign")
    page = Paginator(_dispatch_list(campaign), RECENT_DISPATCHES).get_page(request.GET.get("page"))
    template = "messaging/dispatch_list.html"
    if request.htmx:
        template += "#dispatch-table"
    return render(request, template, {"page": page, "campaign": campaign, "nav": "messaging"})


def _progress(dispatch: Dispatch) -> dict[str, int | bool]:
    channels = max(len(dispatch.messages or {}), 1)
    expected = dispatch.recipients_total * channels
    processed = dispatch.delivered_count + dispatch.failed_count + dispatch.skipped_count
    finished = dispatch.status in (Dispatch.Status.DONE, Dispatch.Status.FAILED)
    percent = 100 if finished else (min(99, processed * 100 // expected) if expected else 0)
    return {"expected": expected, "processed": processed, "percent": percent, "finished": finished}


def _summary(rendered: dict) -> str:
    """The line a person reads first: subject, title, alert or body text."""
    alert = rendered.get("alert")
    if isinstance(alert, dict):
        alert = alert.get("title") or alert.get("body")
    for value in (
        rendered.get("subject"),
        rendered.get("title"),
        alert,
        rendered.get("body") if "subscription_group_id" in rendered else None,
    ):
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _rows(dispatch: Dispatch, page_number: str | None):  # type: ignore[no-untyped-def]
    deliveries = (
        Delivery.objects.filter(dispatch=dispatch)
        .select_related("profile", "variation")
        .order_by("profile_id", "channel", "pk")
    )
    page = Paginator(deliveries, RECIPIENTS_PER_PAGE).get_page(page_number)
    for delivery in page:
        delivery.rendered_json = json.dumps(delivery.rendered, indent=2, ensure_ascii=False)
        delivery.summary = _summary(delivery.rendered or {})
    return page


@login_required
@require_GET
def dispatch_detail(request: HtmxRequest, dispatch_id: str) -> HttpResponse:
    dispatch = _get_dispatch(request, dispatch_id)
    progress = _progress(dispatch)
    context = {
        "dispatch": dispatch,
        "progress": progress,
        "page": _rows(dispatch, request.GET.get("page")),
        "channels": list((dispatch.messages or {}).keys()),
        "listed": len((dispatch.audience or {}).get("external_user_ids") or [])
        + len((dispatch.audience or {}).get("user_aliases") or []),
        "sandboxed": dispatch.deliveries.filter(provider="sandbox").exists(),
        "nav": "messaging",
    }
    if request.htmx:
        response = render(request, "messaging/dispatch_detail.html#dispatch-live", context)
        if progress["finished"] and request.htmx.trigger == "dispatch-live":
            # The poll that sees the end swaps the final numbers in and stops polling (286).
            final = HttpResponseStopPolling()
            final.content = response.content
            return final
        return response
    return render(request, "messaging/dispatch_detail.html", context)


urlpatterns = [
    path("messaging/dispatches/", dispatch_list, name="dispatch-list"),
    # /messaging/dispatches/<dispatch_id>/
    path("messaging/dispatches/<str:dispatch_id>/", dispatch_detail, name="dispatch-detail"),
]
