"""Times in answers, as Braze's export endpoints write them: ISO 8601 in UTC, whole seconds."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(moment: datetime | None, *, hour: bool = False) -> str | None:
    """`2024-03-01T10:15:00+00:00`; `hour=True` drops minutes and seconds (first_sent, …)."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if hour:
        moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(microsecond=0).isoformat()
