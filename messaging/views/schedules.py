"""A campaign's Scheduled tab: its scheduled messages, moved to another time or cancelled."""

from __future__ import annotations

from datetime import UTC

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from accounts.access import permission_required
from accounts.audit import audit_record
from campaigns.models import Campaign
from campaigns.selectors import campaign_by_public_id
from config.api import DomainError

from ..models import ScheduledMessage
from ..scheduling import selectors, services
from ..scheduling.selectors import PAST_SHOWN
from ..schemas.schedules import Schedule


class ScheduleTimeForm(forms.Form):
    """The Scheduled tab's "Change time": a time of day and how to read it."""

    DELIVERY = [
        ("utc", "UTC, everyone at once"),
        ("local", "Each user's local time"),
    ]

    time = forms.DateTimeField(
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    delivery = forms.ChoiceField(choices=DELIVERY, initial="utc")


def _get_campaign(request: HttpRequest, campaign_id: str) -> Campaign:
    campaign = campaign_by_public_id(campaign_id)
    if campaign is None:
        raise Http404("No such campaign")
    return campaign


def _get_schedule(request: HttpRequest, schedule_id: str) -> ScheduledMessage:
    try:
        return services.schedule_get(schedule_id)
    except DomainError:
        raise Http404("No such scheduled message") from None


def _audience_summary(row: ScheduledMessage) -> str:
    audience = (row.plan or {}).get("audience") or {}
    listed = len(audience.get("external_user_ids") or []) + len(audience.get("user_aliases") or [])
    parts = []
    if audience.get("broadcast"):
        parts.append("Everyone")
    if audience.get("segment_id"):
        parts.append(f"Segment {audience['segment_id']}")
    if listed:
        parts.append(f"{listed} listed user{'s' if listed != 1 else ''}")
    if audience.get("filter"):
        parts.append("filtered by a Connected Audience")
    return ", ".join(parts) or "—"


def _decorate(rows):  # type: ignore[no-untyped-def]
    rows = list(rows)
    for row in rows:
        row.audience_summary = _audience_summary(row)
        wall = row.time.astimezone(UTC).replace(tzinfo=None)
        row.form = ScheduleTimeForm(
            initial={"time": wall, "delivery": "local" if row.is_local else "utc"},
            prefix=f"s-{row.schedule_id}",
        )
        row.wall_time = wall
    return rows


@permission_required("messaging.view_scheduledmessage")
@require_GET
def campaign_scheduled(request: HttpRequest, campaign_id: str) -> HttpResponse:
    campaign = _get_campaign(request, campaign_id)
    pending = _decorate(selectors.schedule_list(campaign=campaign, pending=True))
    past = _decorate(selectors.schedule_list(campaign=campaign, pending=False)[:PAST_SHOWN])
    context = {
        "campaign": campaign,
        "pending": pending,
        "past": past,
        "past_shown": PAST_SHOWN,
        "nav": "messaging",
    }
    return render(request, "messaging/campaign_scheduled.html", context)


def _back(row: ScheduledMessage) -> HttpResponse:
    if row.campaign is None:
        return redirect("campaigns:list")
    return redirect("messaging:campaign-scheduled", campaign_id=row.campaign.api_id)


@permission_required("messaging.view_scheduledmessage", write="messaging.change_scheduledmessage")
@require_POST
def schedule_move(request: HttpRequest, schedule_id: str) -> HttpResponse:
    row = _get_schedule(request, schedule_id)
    form = ScheduleTimeForm(request.POST, prefix=f"s-{row.schedule_id}")
    if not form.is_valid():
        messages.error(request, "Give a date and a time to move the scheduled message to.")
        return _back(row)
    wall = form.cleaned_data["time"].astimezone(UTC).replace(tzinfo=None)
    local = form.cleaned_data["delivery"] == "local"
    schedule = Schedule(time=wall if local else wall.replace(tzinfo=UTC), in_local_time=local)
    before = row.send_at
    try:
        row = services.schedule_update(schedule_id=schedule_id, schedule=schedule, kind=None)
    except DomainError as exc:
        messages.error(request, "Not moved: " + "; ".join(exc.errors))
        return _back(row)
    audit_record(
        action="schedule.moved", actor=request.user, target=row, target_id=str(row.schedule_id),
        target_label=row.campaign.name if row.campaign else "",
        changes={"send_at": [before.isoformat(), row.send_at.isoformat()],
                 "in_local_time": local},
        request=request,
    )
    messages.success(request, "Scheduled message moved.")
    return _back(row)


@permission_required("messaging.view_scheduledmessage", write="messaging.change_scheduledmessage")
@require_POST
def schedule_cancel(request: HttpRequest, schedule_id: str) -> HttpResponse:
    row = _get_schedule(request, schedule_id)
    try:
        row = services.schedule_cancel(schedule_id=schedule_id, by=request.user, kind=None)
    except DomainError as exc:
        messages.error(request, "Not cancelled: " + "; ".join(exc.errors))
        return _back(row)
    audit_record(
        action="schedule.cancelled", actor=request.user, target=row,
        target_id=str(row.schedule_id), target_label=row.campaign.name if row.campaign else "",
        request=request,
    )
    messages.success(request, "Scheduled message cancelled: it will not be sent.")
    return _back(row)


urlpatterns = [
    path(
        "messaging/campaigns/<uuid:campaign_id>/scheduled/",
        campaign_scheduled,
        name="campaign-scheduled",
    ),
    # /messaging/scheduled/<schedule_id>/
    path("messaging/scheduled/<uuid:schedule_id>/move/", schedule_move, name="schedule-move"),
    path(
        "messaging/scheduled/<uuid:schedule_id>/cancel/", schedule_cancel, name="schedule-cancel"
    ),
]
