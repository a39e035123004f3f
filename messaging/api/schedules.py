"""REST endpoints: scheduled API-campaign messages (spec §3b.8).

`/messages/schedule/create` takes /messages/send's body plus `schedule` and answers at
once with the `dispatch_id` the send will carry and the `schedule_id` to change or cancel
it; a periodic tick fires it within seconds of its time (messaging.scheduling).
"""

from __future__ import annotations

from datetime import UTC

from django.http import HttpRequest, JsonResponse

from config.api import api_response, endpoint
from config.api.times import iso_utc

from ..access import ratelimit
from ..models import ScheduledMessage
from ..scheduling import selectors, services
from ..schemas.schedules import (
    ScheduleCreateBody,
    ScheduleCreateResponse,
    ScheduledBroadcastsQuery,
    ScheduledBroadcastsResponse,
    ScheduleDeleteBody,
    ScheduleSuccessResponse,
    ScheduleUpdateBody,
)
from .sends import _precheck_extra

NOT_FOUND = (
    "No scheduled message has this schedule_id",
    {"message": "Not Found", "errors": ["schedule_id: no scheduled message 'x'"]},
)


@endpoint(
    "/messages/schedule/create",
    permission="messages.schedule.create",
    rate_limit="messages.schedule",
    summary="Schedule an API-campaign message for later delivery",
    body=ScheduleCreateBody,
    response=ScheduleCreateResponse,
    success_status=201,
    tags=("Scheduled messages",),
    prepare=_precheck_extra,
    idempotent=True,
)
def messages_schedule_create(request: HttpRequest, body: ScheduleCreateBody) -> JsonResponse:
    """Checked whole now, exactly as `/messages/send` checks a send; delivered at `time`.

    `in_local_time`: at that wall-clock time in each user's `time_zone` (users without one:
    the installation's zone, UTC by default); refused when it has passed everywhere.
    `at_optimal_time` falls back to local time and says so in `errors`. A broadcast or
    segment schedule also counts against the broadcast limit (250 per minute).
    """
    headers: dict[str, str] = {}
    if body.broadcast or body.segment_id:
        headers = ratelimit.hit(key=request.api_key.prefix, scope="messages.send.broadcast")
    _, answer = services.schedule_create(
        api_key=request.api_key, body=body, schedule=body.schedule
    )
    response = api_response(answer, status=201)
    for name, value in headers.items():
        response[name] = value
    return response


@endpoint(
    "/messages/schedule/update",
    permission="messages.schedule.update",
    rate_limit="messages.schedule",
    summary="Change the time or the messages of a scheduled message",
    body=ScheduleUpdateBody,
    response=ScheduleSuccessResponse,
    success_status=201,
    tags=("Scheduled messages",),
    answers={404: NOT_FOUND},
)
def messages_schedule_update(request: HttpRequest, body: ScheduleUpdateBody) -> JsonResponse:
    """`schedule` replaces the time whole; `messages` replaces the channels it names (the
    others are kept) and is checked as on create. Only before anything was sent."""
    messages = None
    if body.messages is not None:
        messages = {
            name: message.model_dump(mode="json", by_alias=True, exclude_none=True)
            for name, message in body.messages.present().items()
        }
    row = services.schedule_update(
        schedule_id=body.schedule_id, schedule=body.schedule, messages=messages
    )
    answer = {"message": "success", **({"errors": row.warnings} if row.warnings else {})}
    return api_response(answer, status=201)


@endpoint(
    "/messages/schedule/delete",
    permission="messages.schedule.delete",
    rate_limit="messages.schedule",
    summary="Cancel a scheduled message",
    body=ScheduleDeleteBody,
    response=ScheduleSuccessResponse,
    success_status=201,
    tags=("Scheduled messages",),
    answers={404: NOT_FOUND},
)
def messages_schedule_delete(request: HttpRequest, body: ScheduleDeleteBody) -> JsonResponse:
    """Cancels what was not sent yet (for local time: the time zones still waiting).
    Cancelling twice succeeds; a message already sent whole is a 400."""
    services.schedule_cancel(schedule_id=body.schedule_id)
    return api_response(status=201)


def _schedule_type(row: ScheduledMessage) -> str:
    if row.at_optimal_time:
        return "intelligent_delivery"
    if row.in_local_time:
        return "local_time_zones"
    return "UTC"


@endpoint(
    "/messages/scheduled_broadcasts",
    method="GET",
    permission="messages.schedule_broadcasts",
    rate_limit="messages.schedule",
    summary="List the campaigns scheduled to send before a time",
    query=ScheduledBroadcastsQuery,
    response=ScheduledBroadcastsResponse,
    tags=("Scheduled messages",),
)
def messages_scheduled_broadcasts(
    request: HttpRequest, query: ScheduledBroadcastsQuery
) -> JsonResponse:
    """Each campaign with a scheduled message due between now and `end_time` (UTC unless it
    carries an offset), once, with its next send time, soonest first. Herald schedules
    only through the API, so these are the campaigns of `/messages/schedule/create` and
    `/campaigns/trigger/schedule/create`; a schedule without `campaign_id` is not listed."""
    end_time = query.end_time
    if end_time.tzinfo is None:
        end_time = end_time.replace(tzinfo=UTC)
    entries = []
    for row in selectors.scheduled_campaigns(end_time=end_time):
        local = row.is_local
        # Braze writes the zone only when delivery is not per user's zone (spec §3b.8): a
        # local schedule shows its wall-clock time, an instant its UTC time.
        when = (row.time if local else row.send_at).astimezone(UTC).replace(microsecond=0)
        entries.append({
            "name": row.campaign.name,
            "id": row.campaign.campaign_id,
            "type": "Campaign",
            "tags": sorted(tag.name for tag in row.campaign.tags.all()),
            "next_send_time": when.replace(tzinfo=None).isoformat() if local else iso_utc(when),
            "schedule_type": _schedule_type(row),
        })
    return api_response({"scheduled_broadcasts": entries})
