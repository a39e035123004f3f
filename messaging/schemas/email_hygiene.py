"""Request and response models of the email hygiene endpoints (Braze's /email/* lists,
and Herald's POST /email/feedback for complaints and bounces reported by a relay)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from .users import MAX_IDS, BrazeTime, EmailAddress, EmailStatusRequest


class EmailListRequest(BaseModel):
    """One address, or up to 50 (Braze's `email`: a string or an array)."""

    model_config = ConfigDict(extra="forbid")

    email: EmailAddress | list[EmailAddress]

    @field_validator("email")
    @classmethod
    def _emails(cls, value: str | list[str]) -> list[str]:
        return EmailStatusRequest._emails(value)  # the same checks as /email/status


class EmailSuppressionQuery(BaseModel):
    """`start_date` and `end_date` (inclusive), or `email`; at most 500 rows a page."""

    start_date: date | None = None
    end_date: date | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)] | None = None

    @model_validator(mode="after")
    def _window(self) -> EmailSuppressionQuery:
        if self.email:
            return self
        if self.start_date is None or self.end_date is None:
            raise ValueError("start_date and end_date, or email, are required")
        if self.start_date > self.end_date:
            raise ValueError("start_date must not be after end_date")
        return self


class HardBounce(BaseModel):
    email: str
    hard_bounced_at: str = Field(description='"YYYY-MM-DD HH:MM:SS +0000"')


class HardBouncesResponse(BaseModel):
    message: str
    emails: list[HardBounce]


class SpamReport(BaseModel):
    email: str
    spam_reported_at: str = Field(description='"YYYY-MM-DD HH:MM:SS +0000"')


class SpamResponse(BaseModel):
    message: str
    emails: list[SpamReport]


# --- POST /email/feedback ---------------------------------------------------------------


class FeedbackReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["spam", "hard_bounce"]
    email: EmailAddress
    time: BrazeTime | None = Field(None, description="when it happened; absent: now")


class FeedbackRequest(BaseModel):
    """Herald's shape: `{"reports": [{"type": "spam"|"hard_bounce", "email", "time"}]}`.

    A Postmark webhook body (`RecordType` "SpamComplaint", or "Bounce" of `Type`
    "HardBounce") is accepted as it is and read as one report; other bounces are ignored.
    """

    model_config = ConfigDict(extra="forbid")

    reports: list[FeedbackReport] = Field(max_length=MAX_IDS)
    relay: Literal["herald", "postmark"] = "herald"


class FeedbackResponse(BaseModel):
    message: str
    recorded: int


def feedback_body(data: dict[str, Any]) -> dict[str, Any]:
    """A `prepare` step: a Postmark webhook body becomes Herald's shape, as is otherwise.

    Postmark's webhooks: postmarkapp.com/developer/webhooks/spam-complaint-webhook and
    …/bounce-webhook (`Email`, and `BouncedAt` as the time).
    """
    record = data.get("RecordType")
    if not isinstance(record, str):
        return data
    kind = None
    if record == "SpamComplaint":
        kind = "spam"
    elif record == "Bounce" and data.get("Type") == "HardBounce":
        kind = "hard_bounce"
    reports = []
    if kind is not None:
        report: dict[str, Any] = {"type": kind, "email": data.get("Email")}
        if data.get("BouncedAt"):
            report["time"] = data["BouncedAt"]
        reports.append(report)
    return {"reports": reports, "relay": "postmark"}
