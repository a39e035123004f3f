"""What the query models of analytics' endpoints share: the base model, the day-or-time
type of `ending_at`, and the reading of `ending_at` as the last day of a series."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from django.utils import timezone
from pydantic import BaseModel, ConfigDict, WithJsonSchema

from config.api import ApiError
from config.api.times import ApiTime

INVALID_SEGMENT = "segment_id must be a string of the segment api identifier"


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# A date or a date and time, as the document has always said; both read as ApiTime does.
_DayOrTime = Annotated[ApiTime, WithJsonSchema(
    {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
)]


def _end_day(ending_at: datetime | date | None) -> date:
    if ending_at is None:
        return timezone.now().astimezone(UTC).date()
    if isinstance(ending_at, datetime):
        if timezone.is_naive(ending_at):
            ending_at = ending_at.replace(tzinfo=UTC)
        ending_at = ending_at.astimezone(UTC).date()
    if ending_at.year < 1900:  # also keeps `ending_at - length` away from date.min
        raise ApiError(400, "ending_at: must be after 1900", ["ending_at: out of range"])
    return ending_at
