"""Times in requests and answers.

In: `parse_time` reads every ISO 8601 form Braze documents or shows, for every time an
endpoint takes (`ApiTime` in a model): extended and basic formats, a `T` or a space,
fractions, `Z`, and UTC offsets of one or two hour digits with or without minutes
(`-5:00`, Braze's own example `2020-06-28T23:59:59-5:00`, `-05`, `-0500`). An offset
beyond ±18:00 (ISO 8601's and RFC 3339's bound; Python would take up to ±23:59) is refused.

Out: `iso_utc`, as Braze's export endpoints write times: ISO 8601 in UTC, whole seconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pydantic

MAX_UTC_OFFSET = timedelta(hours=18)
# A trailing offset with a one-digit hour (`-5:00`, `+5`, `-530`), which Python does not read.
# Only after a time of day: in `2020-W26-7` or `2024-01-01` a `-7` is part of the date.
_SHORT_OFFSET = re.compile(
    r"^(?P<time>.+[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?)(?P<sign>[+-])(?P<hour>\d)"
    r"(?::?(?P<minute>\d{2}))?$"
)
_FORMS = "use ISO 8601, e.g. 2020-06-28T23:59:59-05:00"


class TimeOutOfRange(ValueError):
    """A well-formed time that is not one: an offset beyond ±18:00, a year out of range."""


def parse_time(value: Any) -> datetime:
    """A time from a request, in UTC (naive when it gives no offset); ValueError if not one.

    NOTE: returned in UTC because PostgreSQL refuses offsets beyond ±15:59 in a query
    (`time zone displacement out of range`), though ±18:00 is valid ISO 8601.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = _SHORT_OFFSET.sub(
            lambda m: f"{m['time']}{m['sign']}0{m['hour']}:{m['minute'] or '00'}",
            value.strip().upper(),
        )
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a date and time ({_FORMS})") from None
    else:
        raise ValueError(f"must be a date and time string ({_FORMS})")
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise TimeOutOfRange("UTC offset beyond ±18:00")
    if offset is not None:
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise TimeOutOfRange("date and time out of range") from None
    return parsed


# A time field of a request model; documented as an ISO 8601 date-time.
ApiTime = Annotated[datetime, pydantic.BeforeValidator(parse_time)]


def iso_utc(moment: datetime | None, *, hour: bool = False) -> str | None:
    """`2024-03-01T10:15:00+00:00`; `hour=True` drops minutes and seconds (first_sent, …)."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if hour:
        moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(microsecond=0).isoformat()
