"""Reads of the reporting endpoints and the Overview page: what users did, per day.

Every figure comes from the daily rollups (`ActivityRollup`, `ActiveDay`), never from raw
events: a series of 100 days reads at most 100 rows per name. Days with nothing are 0.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from .models import ActiveDay, ActivityRollup, Segment

Kind = ActivityRollup.Kind
MAU_WINDOW = 30  # days of Braze's rolling monthly-active window, the day itself included


def days_of(*, end: date, length: int) -> list[date]:
    """The `length` days ending with `end`, oldest first."""
    start = end - timedelta(days=length - 1)
    return [start + timedelta(days=offset) for offset in range(length)]


def _series(days: list[date], values: dict[date, Any], key: str, *, zero: Any = 0
            ) -> list[dict[str, Any]]:
    return [{"time": day.isoformat(), key: values.get(day, zero)} for day in days]


def activity_series(*, kind: str, end: date, length: int, name: str | None = None,
                    app_id: str | None = None, counter: str = "count",
                    key: str = "count") -> list[dict[str, Any]]:
    """Daily sums of one rollup counter of a kind (one name, one app, or all)."""
    days = days_of(end=end, length=length)
    rows = ActivityRollup.objects.filter(kind=kind, day__gte=days[0], day__lte=days[-1])
    if name is not None:
        rows = rows.filter(name=name)
    if app_id:
        rows = rows.filter(app_id=app_id)
    values = dict(rows.values("day").annotate(total=Sum(counter)).order_by()
                  .values_list("day", "total"))
    if counter == "revenue":
        values = {day: float(round(Decimal(total), 2)) for day, total in values.items()}
        return _series(days, values, key, zero=0.0)
    return _series(days, values, key)


def activity_names(*, kind: str, offset: int, limit: int) -> list[str]:
    """Names recorded of a kind (events, products), alphabetical, one page."""
    return list(ActivityRollup.objects.filter(kind=kind).order_by("name")
                .values_list("name", flat=True).distinct()[offset:offset + limit])


def active_users_series(*, end: date, length: int, window: int = 1) -> list[dict[str, Any]]:
    """Distinct active profiles per day over the `window` days ending that day (1: DAU,
    30: MAU), as [{"time", "users"}]."""
    days = days_of(end=end, length=length)
    if window == 1:
        values = dict(ActiveDay.objects.filter(day__gte=days[0], day__lte=days[-1])
                      .values("day").annotate(n=Count("profile_id")).order_by()
                      .values_list("day", "n"))
        return _series(days, values, "users")
    # One read of the profiles active in the whole span, counted per window in Python: a
    # span of 129 days holds at most one row per profile per day.
    first = days[0] - timedelta(days=window - 1)
    by_day: dict[date, set[int]] = {}
    for profile_id, day in ActiveDay.objects.filter(day__gte=first, day__lte=days[-1]
                                                    ).values_list("profile_id", "day"):
        by_day.setdefault(day, set()).add(profile_id)
    values = {}
    for day in days:
        seen: set[int] = set()
        for back in range(window):
            seen |= by_day.get(day - timedelta(days=back), set())
        values[day] = len(seen)
    return _series(days, values, "users")


def segment_size_series(*, segment: Segment, end: date, length: int) -> list[dict[str, Any]]:
    """A stored segment's size per day: its size from the day it was made, 0 before.

    Herald's segments are lists fixed when made (retargeting), so the size does not move.
    """
    made = segment.created_at.date()
    return [{"time": day.isoformat(), "size": segment.size if day >= made else 0}
            for day in days_of(end=end, length=length)]


def overview(*, end: date, length: int) -> dict[str, Any]:
    """The Overview page's figures: sessions, DAU, MAU, revenue per day, top events."""
    start = end - timedelta(days=length - 1)
    top = list(ActivityRollup.objects.filter(kind=Kind.EVENT, day__gte=start, day__lte=end)
               .values("name").annotate(total=Sum("count")).order_by("-total", "name")[:10])
    return {
        "sessions": activity_series(kind=Kind.SESSION, end=end, length=length,
                                    key="sessions"),
        "dau": active_users_series(end=end, length=length),
        "mau": active_users_series(end=end, length=length, window=MAU_WINDOW),
        "revenue": activity_series(kind=Kind.PURCHASE, end=end, length=length,
                                   counter="revenue", key="revenue"),
        "top_events": [{"name": row["name"], "count": row["total"]} for row in top],
    }
