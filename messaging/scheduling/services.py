"""Scheduled sends: create, update and cancel them, and fire those that are due.

A schedule is checked whole when it is created, exactly as /messages/send checks a send
(`send_plan_build`), and the checked plan is stored; firing it writes the Dispatch the
send would have written (`dispatch_create`), in the same transaction that marks the
schedule sent, so it fires once: a worker that dies before the commit leaves it due for
the next tick, one that dies after it leaves a committed dispatch that the delivery
engine's sweeper enqueues again if its task message was lost.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.api import DomainError

from ..delivery.paging import audience_queryset
from ..errors import InvalidSchedule, ScheduleNotPending, UnknownSchedule
from ..models import ApiKey, Dispatch, ScheduledMessage, SendIdentifier
from ..schemas.messages import SendBody
from ..schemas.schedules import Schedule
from ..schemas.triggers import TriggerSendBody
from ..services.dispatch import SendPlan, dispatch_create, send_plan_build
from ..services.triggers import trigger_plans_build
from . import times

log = logging.getLogger(__name__)

OPTIMAL_TIME_FALLBACK = (
    "schedule.at_optimal_time: Herald has no optimal-time model; each user receives the "
    "message at the given time of day in their own time zone"
)
# A tick fires at most this many schedules; the next tick goes on with the rest.
FIRE_BATCH = 200


def _as_utc(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _wall(schedule: ScheduledMessage) -> datetime:
    """A local schedule's wall-clock time (stored as if it were UTC)."""
    return schedule.time.astimezone(UTC).replace(tzinfo=None)


def schedule_timing(*, schedule: Schedule, now: datetime | None = None) -> dict[str, Any]:
    """The stored fields of a `schedule` object, checked (InvalidSchedule); no writes."""
    now = now or timezone.now()
    local = schedule.in_local_time or schedule.at_optimal_time
    warnings = [OPTIMAL_TIME_FALLBACK] if schedule.at_optimal_time else []
    if not local:
        # An instant; a time already passed is sent at the next tick, as a send would be.
        moment = _as_utc(schedule.time)
        return {"time": moment, "send_at": moment, "in_local_time": False,
                "at_optimal_time": False, "warnings": warnings}
    if not timezone.is_naive(schedule.time):
        raise InvalidSchedule(
            "schedule.time: give no UTC offset with in_local_time or at_optimal_time "
            "(e.g. 2026-05-01T09:00:00)"
        )
    wall = schedule.time.replace(microsecond=0)
    if times.last_instant(wall) < now:
        raise InvalidSchedule("schedule.time: already passed in every time zone")
    first = times.first_instant(wall)
    return {"time": wall.replace(tzinfo=UTC), "send_at": first,
            "in_local_time": schedule.in_local_time,
            "at_optimal_time": schedule.at_optimal_time, "warnings": warnings}


def _plan_json(plan: SendPlan) -> dict[str, Any]:
    return {
        "messages": plan.messages,
        "audience": plan.audience,
        "recipient_subscription_state": plan.recipient_subscription_state,
        "send_id": plan.send_id,
    }


def _request_json(body: SendBody) -> dict[str, Any]:
    return body.model_dump(
        mode="json", by_alias=True, exclude_none=True,
        exclude={"schedule", "api_key", "override_messaging_limits"},
    )


def _checked_plan(body: SendBody, *, keep_send_id: str = "") -> SendPlan:
    plan = send_plan_build(body=body)
    if plan.generate_send_id and plan.campaign is not None:
        # A broadcast's generated send_id is issued now, so every wave (and the answer)
        # carries the same one.
        plan.send_id = keep_send_id or "broadcast-" + secrets.token_hex(8)
    return plan


def schedule_create(
    *, api_key: ApiKey | None, body: SendBody, schedule: Schedule,
    kind: str = ScheduledMessage.Kind.MESSAGES,
) -> tuple[ScheduledMessage, dict[str, Any]]:
    """Check the send and its time, store the schedule; answer dispatch_id and schedule_id."""
    timing = schedule_timing(schedule=schedule)
    plan = _checked_plan(body)
    with transaction.atomic():
        if plan.generate_send_id and plan.campaign is not None:
            SendIdentifier.objects.create(
                campaign=plan.campaign, send_id=plan.send_id, generated=True
            )
        row = ScheduledMessage(
            kind=kind,
            api_key=api_key,
            campaign=plan.campaign,
            request=_request_json(body),
            plan=_plan_json(plan),
            time=timing["time"],
            send_at=timing["send_at"],
            in_local_time=timing["in_local_time"],
            at_optimal_time=timing["at_optimal_time"],
            warnings=plan.warnings + timing["warnings"],
        )
        row.full_clean(exclude=["api_key", "campaign"])
        row.save()
    answer: dict[str, Any] = {
        "dispatch_id": row.dispatch_id,
        "schedule_id": str(row.schedule_id),
        "message": "success",
    }
    if plan.generate_send_id and plan.send_id:
        answer["send_id"] = plan.send_id
    if row.warnings:
        answer["errors"] = row.warnings
    return row, answer


def trigger_schedule_create(
    *, api_key: ApiKey | None, body: TriggerSendBody, schedule: Schedule
) -> tuple[ScheduledMessage, dict[str, Any]]:
    """Check an API-triggered send and its time, store it. The content is read when it
    fires (the campaign's content as it is then); the checks run again then."""
    timing = schedule_timing(schedule=schedule)
    plans = trigger_plans_build(body=body)
    row = ScheduledMessage(
        kind=ScheduledMessage.Kind.TRIGGER,
        api_key=api_key,
        campaign=plans[0].campaign,
        request=body.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"schedule", "api_key"}
        ),
        plan={"messages": plans[0].messages},
        time=timing["time"],
        send_at=timing["send_at"],
        in_local_time=timing["in_local_time"],
        at_optimal_time=timing["at_optimal_time"],
        warnings=plans[0].warnings + timing["warnings"],
    )
    row.full_clean(exclude=["api_key", "campaign"])
    row.save()
    answer: dict[str, Any] = {
        "dispatch_id": row.dispatch_id, "schedule_id": str(row.schedule_id), "message": "success",
    }
    if row.warnings:
        answer["errors"] = row.warnings
    return row, answer


def trigger_schedule_get(*, campaign_id: str, schedule_id: str) -> ScheduledMessage:
    """A scheduled trigger of this campaign (UnknownSchedule for another campaign's)."""
    row = schedule_get(schedule_id, kind=ScheduledMessage.Kind.TRIGGER)
    if row.campaign is None or str(row.campaign.api_id) != str(campaign_id).strip().lower():
        raise UnknownSchedule(f"schedule_id: no scheduled message {schedule_id!r} of this campaign")
    return row


def schedule_get(schedule_id: str, *, kind: str | None = None) -> ScheduledMessage:
    """The schedule with this public id (UnknownSchedule when none)."""
    try:
        public = uuid.UUID(str(schedule_id))
    except ValueError:
        raise UnknownSchedule(f"schedule_id: no scheduled message {schedule_id!r}") from None
    rows = ScheduledMessage.objects.select_related("campaign", "api_key")
    if kind is not None:
        rows = rows.filter(kind=kind)
    row = rows.filter(schedule_id=public).first()
    if row is None:
        raise UnknownSchedule(f"schedule_id: no scheduled message {schedule_id!r}")
    return row


def _locked(schedule_id: str, kind: str | None) -> ScheduledMessage:
    row = schedule_get(schedule_id, kind=kind)
    return (
        ScheduledMessage.objects.select_for_update(of=("self",))
        .select_related("campaign")
        .get(pk=row.pk)
    )


def schedule_update(
    *, schedule_id: str, schedule: Schedule | None = None,
    messages: dict[str, Any] | None = None, kind: str | None = ScheduledMessage.Kind.MESSAGES,
    request_class: type[SendBody] = SendBody,
) -> ScheduledMessage:
    """A new time, and/or new message objects (those named replace theirs; others stay).

    Only a schedule none of which was sent yet can change (ScheduleNotPending)."""
    if schedule is None and not messages:
        raise InvalidSchedule("schedule, messages: give at least one")
    with transaction.atomic():
        row = _locked(schedule_id, kind)
        if row.status != ScheduledMessage.Status.SCHEDULED:
            raise ScheduleNotPending(
                f"schedule_id: already {row.get_status_display().lower()}, it can no longer change"
            )
        warnings = [w for w in row.warnings if w != OPTIMAL_TIME_FALLBACK]
        if schedule is not None:
            timing = schedule_timing(schedule=schedule)
            row.time, row.send_at = timing["time"], timing["send_at"]
            row.in_local_time, row.at_optimal_time = (
                timing["in_local_time"], timing["at_optimal_time"]
            )
        if row.at_optimal_time:
            warnings.append(OPTIMAL_TIME_FALLBACK)
        if messages:
            request = dict(row.request)
            request["messages"] = {**(request.get("messages") or {}), **messages}
            body = request_class.model_validate(request)
            plan = _checked_plan(body, keep_send_id=(row.plan or {}).get("send_id", ""))
            row.request, row.plan = request, _plan_json(plan)
            warnings = [w for w in plan.warnings] + (
                [OPTIMAL_TIME_FALLBACK] if row.at_optimal_time else []
            )
        row.warnings = warnings
        row.save()
    return row


def schedule_cancel(
    *, schedule_id: str, by=None, kind: str | None = ScheduledMessage.Kind.MESSAGES,  # type: ignore[no-untyped-def]
) -> ScheduledMessage:
    """Cancel what was not sent yet (the time zones still waiting, for local delivery).

    Cancelling twice is fine; a schedule already sent whole cannot be (ScheduleNotPending)."""
    with transaction.atomic():
        row = _locked(schedule_id, kind)
        if row.status == ScheduledMessage.Status.CANCELLED:
            return row
        if not row.is_pending:
            raise ScheduleNotPending(
                f"schedule_id: already {row.get_status_display().lower()}, nothing to cancel"
            )
        row.status = ScheduledMessage.Status.CANCELLED
        row.cancelled_at = timezone.now()
        row.cancelled_by = by if getattr(by, "is_authenticated", False) else None
        row.save(update_fields=["status", "cancelled_at", "cancelled_by", "updated_at"])
    return row


# --- firing ---------------------------------------------------------------------------------


def _fire_problem(row: ScheduledMessage) -> str:
    """Why a due schedule must not go out after all, or ""."""
    if row.api_key is not None and row.api_key.is_revoked:
        return "the API key that scheduled it was revoked"
    if row.campaign is not None and row.campaign.is_archived:
        return "the campaign was archived"
    return ""


def _plans(row: ScheduledMessage) -> list[SendPlan]:
    """What the schedule sends: its stored plan, or (API-triggered) the campaign's content
    now, for the stored request (a DomainError when that is no longer sendable)."""
    if row.kind == ScheduledMessage.Kind.TRIGGER:
        return trigger_plans_build(body=TriggerSendBody.model_validate(row.request))
    stored = row.plan or {}
    return [SendPlan(
        messages=stored.get("messages") or {},
        audience=dict(stored.get("audience") or {}),
        recipient_subscription_state=stored.get("recipient_subscription_state", "subscribed"),
        campaign=row.campaign,
        send_id=stored.get("send_id") or "",
    )]


def _fail(row: ScheduledMessage, problem: str, now: datetime) -> int:
    row.status, row.error, row.fired_at = ScheduledMessage.Status.FAILED, problem, now
    row.save(update_fields=["status", "error", "fired_at", "updated_at"])
    log.warning("schedule %s not sent: %s", row.schedule_id, problem)
    return 0


def schedule_fire(*, pk: int, now: datetime | None = None) -> int:
    """Fire one due schedule (or its due time zones); returns the dispatches written.

    Safe to run twice and from two workers at once: the row is claimed with
    SELECT … FOR UPDATE SKIP LOCKED, and only while it is pending and due."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            ScheduledMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("api_key", "campaign")
            .filter(pk=pk, status__in=ScheduledMessage.PENDING, send_at__lte=now)
            .first()
        )
        if row is None:
            return 0
        problem = _fire_problem(row)
        if problem:
            return _fail(row, problem, now)
        try:
            plans = _plans(row)
        except DomainError as exc:
            return _fail(row, "; ".join(exc.errors) or type(exc).__name__, now)
        wave = None
        if row.is_local:
            wall = _wall(row)
            due = times.zones_due(wall, now=now, sent=row.zones_sent)
            wave = {"zones": due, "unknown": times.default_zone() in due}
        written = 0
        for plan in plans:
            if wave is not None:
                plan.audience = {**plan.audience, "time_zones": wave}
            # A wave or a variant group nobody is in writes no dispatch.
            if (wave is not None or len(plans) > 1) and not audience_queryset(
                Dispatch(audience=plan.audience)
            ).exists():
                continue
            plan.dispatch_id = "" if row.dispatch_ids else row.dispatch_id
            dispatch, _ = dispatch_create(api_key=row.api_key, plan=plan)
            row.dispatch_ids = [*row.dispatch_ids, dispatch.dispatch_id]
            written += 1
        if wave is None:
            row.status = ScheduledMessage.Status.SENT
        else:
            row.zones_sent = [*row.zones_sent, *wave["zones"]]
            following = times.first_instant(_wall(row), sent=row.zones_sent)
            if following is None:
                row.status = ScheduledMessage.Status.SENT
            else:
                row.status, row.send_at = ScheduledMessage.Status.SENDING, following
        row.fired_at = row.fired_at or now
        row.save()
    return written


def schedules_fire_due(*, now: datetime | None = None) -> int:
    """Fire every schedule that is due; returns the dispatches written."""
    now = now or timezone.now()
    pks = list(
        ScheduledMessage.objects.filter(status__in=ScheduledMessage.PENDING, send_at__lte=now)
        .order_by("send_at")
        .values_list("pk", flat=True)[:FIRE_BATCH]
    )
    return sum(schedule_fire(pk=pk, now=now) for pk in pks)
