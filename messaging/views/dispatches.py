"""Dispatch pages: a campaign's recent sends (a campaign page fragment) and one send, live."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from accounts.access import permission_required
from campaigns.models import Campaign
from campaigns.selectors import campaign_by_public_id

from ..delivery.cancel import dispatch_cancel
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


@permission_required("messaging.view_dispatch")
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
    processed = (
        dispatch.delivered_count
        + dispatch.sandboxed_count
        + dispatch.failed_count
        + dispatch.skipped_count
    )
    finished = dispatch.is_finished
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


SKIP_REASONS_SHOWN = 8


def _breakdown(dispatch: Dispatch) -> dict:
    """Per channel: rows by outcome (sandbox apart from real deliveries); skip reasons."""
    rows = Delivery.objects.filter(dispatch=dispatch)
    per_channel = list(
        rows.values("channel")
        .annotate(
            delivered=Count(
                "pk", filter=Q(status__in=["delivered", "sent"]) & ~Q(provider="sandbox")
            ),
            sandboxed=Count("pk", filter=Q(status="delivered", provider="sandbox")),
            bounced=Count("pk", filter=Q(status="bounced")),
            failed=Count("pk", filter=Q(status="failed")),
            skipped=Count("pk", filter=Q(status="skipped")),
            in_flight=Count("pk", filter=Q(status__in=["pending", "sending"])),
            resent=Count("pk", filter=Q(resends__gt=0)),
        )
        .order_by("channel")
    )
    labels = dict(Delivery._meta.get_field("channel").choices)
    for row in per_channel:
        row["label"] = labels.get(row["channel"], row["channel"])
    reasons = list(
        rows.filter(status=Delivery.Status.SKIPPED)
        .values("error")
        .annotate(n=Count("pk"))
        .order_by("-n", "error")[:SKIP_REASONS_SHOWN]
    )
    return {"per_channel": per_channel, "skip_reasons": reasons}


@permission_required("messaging.view_dispatch")
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
        "sandboxed": dispatch.sandboxed_count > 0
        or dispatch.deliveries.filter(provider="sandbox").exists(),
        "breakdown": _breakdown(dispatch),
        "went_out": dispatch.delivered_count + dispatch.sandboxed_count
        + dispatch.bounced_count,
        "cancellable": dispatch.status in (Dispatch.Status.QUEUED, Dispatch.Status.RUNNING),
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


@permission_required("messaging.change_dispatch")
@require_POST
def dispatch_cancel_view(request: HttpRequest, dispatch_id: str) -> HttpResponse:
    dispatch = _get_dispatch(request, dispatch_id)
    if dispatch_cancel(dispatch_pk=dispatch.pk):
        dispatch.refresh_from_db()
        went_out = dispatch.delivered_count + dispatch.sandboxed_count + dispatch.bounced_count
        messages.success(
            request,
            f"Send cancelled: {went_out:,} message{'s' if went_out != 1 else ''} had gone out "
            f"and stay sent; {dispatch.skipped_count:,} not sent are marked skipped "
            "(messages being handed to a provider right now finish first).",
        )
    else:
        messages.info(request, "This send had already finished: nothing to cancel.")
    return redirect("messaging:dispatch-detail", dispatch_id=dispatch.dispatch_id)


urlpatterns = [
    path("messaging/dispatches/", dispatch_list, name="dispatch-list"),
    # /messaging/dispatches/<dispatch_id>/
    path("messaging/dispatches/<str:dispatch_id>/", dispatch_detail, name="dispatch-detail"),
    path(
        "messaging/dispatches/<str:dispatch_id>/cancel/",
        dispatch_cancel_view,
        name="dispatch-cancel",
    ),
]
