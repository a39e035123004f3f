"""Models of the API-triggered campaign endpoints: /campaigns/trigger/send and
/campaigns/trigger/schedule/* (spec §3.3)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, SkipValidation, model_validator

from .messages import AudienceFilter, UserAliasRef, _Strict
from .schedules import Schedule

MAX_TRIGGER_RECIPIENTS = 50
TRIGGER_PROPERTIES_MAX_BYTES = 50 * 1024


class TriggerRecipient(_Strict):
    """One recipient: `external_user_id` or `user_alias` (Herald does not take `braze_id` or
    `email` here), with its own `trigger_properties` over the request's."""

    external_user_id: str | None = Field(default=None, min_length=1)
    user_alias: UserAliasRef | None = None
    trigger_properties: dict[str, Any] | None = None
    # Braze's default; `false` (create the user from `attributes`) is not supported.
    send_to_existing_only: bool = True

    @model_validator(mode="after")
    def _one_identifier(self) -> TriggerRecipient:
        if (self.external_user_id is None) == (self.user_alias is None):
            raise ValueError("give exactly one of external_user_id and user_alias")
        if not self.send_to_existing_only:
            raise ValueError("send_to_existing_only: false is not supported by Herald")
        return self


class TriggerSendBody(_Strict):
    """Body of POST /campaigns/trigger/send."""

    campaign_id: str = Field(min_length=1)
    send_id: str | None = None
    trigger_properties: dict[str, Any] | None = None
    broadcast: bool = False
    audience: Annotated[AudienceFilter | None, SkipValidation] = Field(
        default=None, description="Connected Audience (as in /messages/send)."
    )
    recipients: list[TriggerRecipient] | None = None
    api_key: str | None = Field(default=None, json_schema_extra={"deprecated": True})


class TriggerSendResponse(BaseModel):
    message: str = "success"
    dispatch_id: str
    errors: list[str] | None = None


class TriggerScheduleCreateBody(TriggerSendBody):
    """Body of POST /campaigns/trigger/schedule/create."""

    schedule: Schedule


class TriggerScheduleCreateResponse(BaseModel):
    message: str = "success"
    dispatch_id: str
    schedule_id: str
    errors: list[str] | None = None


class TriggerScheduleUpdateBody(_Strict):
    """Body of POST /campaigns/trigger/schedule/update: the new `schedule`, whole."""

    campaign_id: str = Field(min_length=1)
    schedule_id: str = Field(min_length=1)
    schedule: Schedule
    api_key: str | None = Field(default=None, json_schema_extra={"deprecated": True})


class TriggerScheduleDeleteBody(_Strict):
    """Body of POST /campaigns/trigger/schedule/delete."""

    campaign_id: str = Field(min_length=1)
    schedule_id: str = Field(min_length=1)
    api_key: str | None = Field(default=None, json_schema_extra={"deprecated": True})
