"""Request and response models of POST /engagement/track (Herald's own, beyond Braze).

The same models validate requests and document them in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from analytics.models import EngagementEvent
from config.api.times import ApiTime

Kind = EngagementEvent.Kind

# type in the body -> (event kind, counted once per message?)
MESSAGE_EVENTS: dict[str, tuple[str, bool]] = {
    "push_open": (Kind.DIRECT_OPEN, True),
    "push_delivered": (Kind.DELIVERED, True),
    "push_bounce": (Kind.BOUNCE_HARD, True),
    "card_impression": (Kind.IMPRESSION, False),
    "card_click": (Kind.CLICK, False),
    "card_dismissal": (Kind.DISMISSAL, True),
    "sms_delivered": (Kind.DELIVERED, True),
    "sms_rejected": (Kind.BOUNCE_HARD, True),
    "sms_failed": (Kind.FAILED, True),
    "sms_click": (Kind.CLICK, False),
    "sms_opt_out": (Kind.OPT_OUT, True),
    "sms_help": (Kind.HELP, False),
    "email_delivered": (Kind.DELIVERED, True),
    "email_bounce": (Kind.BOUNCE_HARD, True),
    "email_soft_bounce": (Kind.BOUNCE_SOFT, True),
    "email_spam": (Kind.REPORTED_SPAM, True),
    "webhook_delivered": (Kind.DELIVERED, True),
    "webhook_failed": (Kind.FAILED, True),
}
MAX_EVENTS = 75
# PostgreSQL refuses NUL characters in text: refuse them here, as a 400.
_NO_NUL = r"^[^\x00]*$"


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: ApiTime | None = None


class MessageEvent(_Item):
    type: Literal[tuple(MESSAGE_EVENTS)]  # type: ignore[valid-type]
    message_id: str | None = Field(None, max_length=32, pattern=_NO_NUL)
    card_id: str | None = Field(None, max_length=32, pattern=_NO_NUL)
    # The reporter's own id for this event: a retry with the same id counts once.
    id: str | None = Field(None, max_length=64, pattern=_NO_NUL)

    @model_validator(mode="after")
    def _one_target(self) -> MessageEvent:
        if bool(self.message_id) == bool(self.card_id):
            raise ValueError("give exactly one of message_id or card_id")
        return self


class AppSession(_Item):
    type: Literal["app_session"]
    external_id: str | None = Field(None, max_length=255, pattern=_NO_NUL)
    braze_id: str | None = Field(None, max_length=24, pattern=_NO_NUL)
    app_id: str = Field("", max_length=64, pattern=_NO_NUL)
    app_version: str = Field("", max_length=64, pattern=_NO_NUL)

    @model_validator(mode="after")
    def _one_user(self) -> AppSession:
        if bool(self.external_id) == bool(self.braze_id):
            raise ValueError("give exactly one of external_id or braze_id")
        return self


EngagementItem = Annotated[MessageEvent | AppSession, Field(discriminator="type")]


class EngagementBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EngagementItem] = Field(min_length=1, max_length=MAX_EVENTS)


class EngagementResponse(BaseModel):
    message: str
    events_processed: int
    events_recorded: int
