"""When a scheduled send is due: the instant, or per time zone for local delivery.

Pure time arithmetic, no database writes (messaging.scheduling.services fires schedules).

A local-time schedule carries a wall-clock time (`2026-05-01T09:00:00`, no offset). Each
IANA time zone reaches it at its own instant; a profile receives it at the instant of its
`time_zone`, and a profile whose zone is empty or not an IANA name at that of the
installation's zone (settings.TIME_ZONE: Braze's "company time zone"). The schedule fires
in waves: at each tick every zone whose instant has come and that has not been sent yet.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from functools import cache

from django.conf import settings
from django.db.models import Q


@cache
def known_zones() -> tuple[str, ...]:
    """Every IANA zone name this system knows, sorted (about 600)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def default_zone() -> str:
    """The zone of a profile that names none (or none that exists)."""
    return settings.TIME_ZONE


def zone_instant(wall: datetime, zone: str) -> datetime:
    """The UTC instant at which `zone` reads the naive wall-clock time `wall`.

    NOTE: a wall time skipped by a daylight-saving jump (02:30 on the spring-forward night)
    is read with fold=0, i.e. as if the jump had not happened yet: about an hour late.
    """
    return wall.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(UTC)


@cache
def _instants(wall: datetime) -> tuple[tuple[datetime, str], ...]:
    return tuple(sorted((zone_instant(wall, zone), zone) for zone in known_zones()))


def first_instant(wall: datetime, *, sent: list[str] | tuple[str, ...] = ()) -> datetime | None:
    """The earliest instant of a zone not yet sent, or None when every zone was."""
    done = set(sent)
    for instant, zone in _instants(wall):
        if zone not in done:
            return instant
    return None


def last_instant(wall: datetime) -> datetime:
    """The latest instant any zone reaches `wall` (about UTC-12)."""
    return _instants(wall)[-1][0]


def zones_due(wall: datetime, *, now: datetime, sent: list[str] | tuple[str, ...]) -> list[str]:
    """The zones whose instant has come by `now` and that were not sent yet."""
    done = set(sent)
    return [zone for instant, zone in _instants(wall) if instant <= now and zone not in done]


def time_zone_q(spec: dict) -> Q:
    """The profiles of one local-time wave: `{"zones": [...], "unknown": bool}`, where
    `unknown` adds those whose zone is empty or not an IANA name (read in the default zone).
    Used by messaging.delivery.paging for a dispatch whose audience carries `time_zones`."""
    query = Q(time_zone__in=list(spec.get("zones") or []))
    if spec.get("unknown"):
        query |= ~Q(time_zone__in=known_zones())
    return query
