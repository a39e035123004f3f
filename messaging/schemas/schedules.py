"""Models of the scheduling endpoints: /messages/schedule/* and /messages/scheduled_broadcasts
(spec §3b.8, Braze's "schedule object")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from config.api.times import ApiTime

from .messages import Messages, SendBody, _Strict


class Schedule(_Strict):
    """When to deliver. `time` alone: everyone at that instant (UTC unless it carries an
    offset). `in_local_time`: at that wall-clock time in each user's time zone (no offset).
    `at_optimal_time`: Herald has no optimal-time model and falls back to local time, saying
    so in `errors`."""

    time: ApiTime = Field(description="ISO 8601; without an offset for local or optimal time")
    in_local_time: bool = False
    at_optimal_time: bool = False


class ScheduleCreateBody(SendBody):
    """Body of POST /messages/schedule/create: /messages/send's body plus `schedule`."""

    schedule: Schedule
    # This endpoint's name for /messages/send's override_frequency_capping.
    override_messaging_limits: bool = False


class ScheduleCreateResponse(BaseModel):
    message: str = "success"
    dispatch_id: str
    schedule_id: str
    send_id: str | None = None
    errors: list[str] | None = None


class ScheduleUpdateBody(_Strict):
    """Body of POST /messages/schedule/update: at least one of `schedule` and `messages`.

    `schedule` replaces the old one whole; `messages` replaces the channels it names and
    keeps the others."""

    schedule_id: str = Field(min_length=1)
    schedule: Schedule | None = None
    messages: Messages | None = None
    api_key: str | None = Field(default=None, json_schema_extra={"deprecated": True})


class ScheduleDeleteBody(_Strict):
    """Body of POST /messages/schedule/delete."""

    schedule_id: str = Field(min_length=1)
    api_key: str | None = Field(default=None, json_schema_extra={"deprecated": True})


class ScheduleSuccessResponse(BaseModel):
    message: str = "success"
    errors: list[str] | None = None


class ScheduledBroadcastsQuery(_Strict):
    end_time: ApiTime = Field(description="ISO 8601; a date alone is midnight UTC")


class ScheduledBroadcast(BaseModel):
    name: str
    id: str
    type: Literal["Campaign", "Canvas"] = "Campaign"
    tags: list[str]
    next_send_time: str
    schedule_type: str


class ScheduledBroadcastsResponse(BaseModel):
    scheduled_broadcasts: list[ScheduledBroadcast]
    message: str = "success"


__all__ = [
    "Schedule",
    "ScheduleCreateBody",
    "ScheduleCreateResponse",
    "ScheduleDeleteBody",
    "ScheduleSuccessResponse",
    "ScheduleUpdateBody",
    "ScheduledBroadcast",
    "ScheduledBroadcastsQuery",
    "ScheduledBroadcastsResponse",
]
