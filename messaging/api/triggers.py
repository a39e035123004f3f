"""REST endpoints: API-triggered campaigns (spec §3.3): /campaigns/trigger/send and
/campaigns/trigger/schedule/create|update|delete.

The content is the campaign's, written in the dashboard; the request names who receives
it and the `trigger_properties` its Liquid reads as `{{api_trigger_properties.${name}}}`.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from config.api import api_response, endpoint

from ..access import ratelimit
from ..models import ScheduledMessage
from ..scheduling import services as schedule_services
from ..schemas.schedules import ScheduleSuccessResponse
from ..schemas.triggers import (
    TriggerScheduleCreateBody,
    TriggerScheduleCreateResponse,
    TriggerScheduleDeleteBody,
    TriggerScheduleUpdateBody,
    TriggerSendBody,
    TriggerSendResponse,
)
from ..services import triggers
from ..services.dispatch import dispatch_create
from .schedules import NOT_FOUND

TRIGGER = ScheduledMessage.Kind.TRIGGER


def _broadcast_headers(request: HttpRequest, body: TriggerSendBody) -> dict[str, str]:
    if not body.broadcast:
        return {}
    # Broadcasts also count against their own limit (250 per minute, spec §2.6).
    return ratelimit.hit(key=request.api_key.prefix, scope="messages.send.broadcast")


def _with_headers(response: JsonResponse, headers: dict[str, str]) -> JsonResponse:
    for name, value in headers.items():
        response[name] = value
    return response


@endpoint(
    "/campaigns/trigger/send",
    permission="campaigns.trigger.send",
    summary="Send an API-triggered campaign (its content is the dashboard's)",
    body=TriggerSendBody,
    response=TriggerSendResponse,
    success_status=201,
    tags=("API-triggered campaigns",),
    idempotent=True,
)
def campaigns_trigger_send(request: HttpRequest, body: TriggerSendBody) -> JsonResponse:
    """Up to 50 `recipients` (each with its own `trigger_properties` over the request's), or
    `broadcast: true` (optionally narrowed by `audience`). Members of the global control
    group are left out. Unknown recipients are reported in `errors`; the others are sent.
    With A/B variants, each variant group is a dispatch of its own: the answer names the
    first."""
    headers = _broadcast_headers(request, body)
    plans = triggers.trigger_plans_build(body=body)
    answer = None
    for plan in plans:
        _, written = dispatch_create(api_key=request.api_key, plan=plan)
        answer = answer or written
    return _with_headers(api_response(answer, status=201), headers)


@endpoint(
    "/campaigns/trigger/schedule/create",
    permission="campaigns.trigger.schedule.create",
    rate_limit="messages.schedule",
    summary="Schedule an API-triggered campaign",
    body=TriggerScheduleCreateBody,
    response=TriggerScheduleCreateResponse,
    success_status=201,
    tags=("API-triggered campaigns",),
    idempotent=True,
)
def campaigns_trigger_schedule_create(
    request: HttpRequest, body: TriggerScheduleCreateBody
) -> JsonResponse:
    """Checked now as `/campaigns/trigger/send` checks a trigger; sent at `schedule.time`
    (in each user's time zone with `in_local_time`) with the campaign's content as it is
    then."""
    headers = _broadcast_headers(request, body)
    _, answer = schedule_services.trigger_schedule_create(
        api_key=request.api_key, body=body, schedule=body.schedule
    )
    return _with_headers(api_response(answer, status=201), headers)


@endpoint(
    "/campaigns/trigger/schedule/update",
    permission="campaigns.trigger.schedule.update",
    rate_limit="messages.schedule",
    summary="Move a scheduled API-triggered campaign",
    body=TriggerScheduleUpdateBody,
    response=ScheduleSuccessResponse,
    success_status=201,
    tags=("API-triggered campaigns",),
    answers={404: NOT_FOUND},
)
def campaigns_trigger_schedule_update(
    request: HttpRequest, body: TriggerScheduleUpdateBody
) -> JsonResponse:
    """The new `schedule` replaces the old one; only before anything was sent."""
    schedule_services.trigger_schedule_get(
        campaign_id=body.campaign_id, schedule_id=body.schedule_id
    )
    row = schedule_services.schedule_update(
        schedule_id=body.schedule_id, schedule=body.schedule, kind=TRIGGER
    )
    answer = {"errors": row.warnings} if row.warnings else {}
    return api_response(answer, status=201)


@endpoint(
    "/campaigns/trigger/schedule/delete",
    permission="campaigns.trigger.schedule.delete",
    rate_limit="messages.schedule",
    summary="Cancel a scheduled API-triggered campaign",
    body=TriggerScheduleDeleteBody,
    response=ScheduleSuccessResponse,
    success_status=201,
    tags=("API-triggered campaigns",),
    answers={404: NOT_FOUND},
)
def campaigns_trigger_schedule_delete(
    request: HttpRequest, body: TriggerScheduleDeleteBody
) -> JsonResponse:
    """Cancels what was not sent yet; cancelling twice succeeds."""
    schedule_services.trigger_schedule_get(
        campaign_id=body.campaign_id, schedule_id=body.schedule_id
    )
    schedule_services.schedule_cancel(schedule_id=body.schedule_id, kind=TRIGGER)
    return api_response(status=201)
