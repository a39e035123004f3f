"""Date-times on every dashboard page, in one style.

`{{ value|when }}`  → <time datetime="…" title="28 Nov 2026, 19:08:27 UTC">28 Nov 2026, 19:08</time>
`{{ value|ago }}`   → the same element reading "5 minutes ago" (the absolute time on hover)
Plain dates use Django's `{{ value|date }}` (DATE_FORMAT: "28 Nov 2026").
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.html import format_html

register = template.Library()


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


# The hover text: the display style plus seconds and the zone, e.g. "28 Nov 2026, 19:08:27 UTC".
FULL_FORMAT = "j M Y, H:i:s T"


def _full(value: datetime) -> str:
    return date_format(_local(value), FULL_FORMAT)


def _time_element(value: datetime, text: str) -> str:
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), _full(value), text
    )


@register.filter
def when(value: datetime | None) -> str:
    if not isinstance(value, datetime):
        return ""
    return _time_element(value, date_format(_local(value), get_format("DATETIME_FORMAT")))


@register.filter
def ago(value: datetime | None) -> str:
    if not isinstance(value, datetime):
        return ""
    text = naturaltime(value)
    # "now by marketer" reads oddly; the other texts ("5 minutes ago") read fine.
    return _time_element(value, "just now" if text == "now" else text)
